// uce_brain_genes.cpp — the UCE-brain gene mapping JSON, species resolution and gene alignment.
#include "uce/uce_brain_genes.hpp"

#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_map>

namespace uce {
namespace {

using Json = nlohmann::ordered_json;  // keeps the file's symbol order
constexpr std::streamoff kMaxMappingBytes = std::streamoff{1} << 30;

// Legacy / common names -> binomial (the species of the multi-species vocabularies).
const std::unordered_map<std::string, std::string>& species_aliases() {
  static const std::unordered_map<std::string, std::string> m = {
      {"human", "homo_sapiens"},          {"mouse", "mus_musculus"},
      {"pig", "sus_scrofa"},              {"zebrafish", "danio_rerio"},
      {"frog", "xenopus_tropicalis"},     {"mouse_lemur", "microcebus_murinus"},
      {"lemur", "microcebus_murinus"},    {"macaque", "macaca_mulatta"},
      {"rhesus", "macaca_mulatta"},       {"rhesus_macaque", "macaca_mulatta"},
      {"pigtail", "macaca_mulatta"},      {"crab_eating_macaque", "macaca_fascicularis"},
      {"cynomolgus", "macaca_fascicularis"}, {"marmoset", "callithrix_jacchus"},
      {"chimp", "pan_troglodytes"},       {"chimpanzee", "pan_troglodytes"},
  };
  return m;
}

std::string ascii_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

// "13466" or 13466 -> int64; false otherwise.
bool parse_int_field(const Json& v, int64_t& out) {
  if (v.is_number_integer()) {
    out = v.get<int64_t>();
    return true;
  }
  if (!v.is_string()) return false;
  const std::string& s = v.get_ref<const std::string&>();
  const char* b = s.data();
  const char* e = b + s.size();
  while (b < e && *b == ' ') ++b;
  while (e > b && e[-1] == ' ') --e;
  auto [p, ec] = std::from_chars(b, e, out);
  return ec == std::errc() && p == e && b != e;
}

bool looks_like_gene_entry(const Json& v) { return v.is_object() && v.contains("protein_embedding_id"); }

}  // namespace

std::string canonical_species_name(std::string_view name) {
  std::string s;
  for (char c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == ' ' || c == '-' || c == '.') c = '_';
    s += c;
  }
  while (!s.empty() && s.back() == '_') s.pop_back();
  while (!s.empty() && s.front() == '_') s.erase(s.begin());
  auto it = species_aliases().find(s);
  return it == species_aliases().end() ? s : it->second;
}

Result<BrainGeneMapping> parse_brain_gene_mapping(std::string_view text, const std::string& species,
                                                  const std::string& path) {
  using R = Result<BrainGeneMapping>;
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return R::error(path + ": not valid JSON (expected a UCE-brain gene mapping)");
  if (!j.is_object() || j.empty())
    return R::error(path + ": top level is not a non-empty object (expected {species: {SYMBOL: {...}}})");
  BrainGeneMapping m;
  m.path = path;
  const Json* genes = nullptr;
  if (looks_like_gene_entry(j.begin().value())) {
    genes = &j;
    m.resolution = "single-species file (used as it is for '" + species + "')";
  } else {
    if (auto it = j.find(species); it != j.end()) {
      genes = &*it;
      m.species_key = species;
      m.resolution = "species key '" + species + "' (exact)";
    } else {
      const std::string want = canonical_species_name(species);
      for (auto it2 = j.begin(); it2 != j.end(); ++it2) {
        if (canonical_species_name(it2.key()) == want) {
          genes = &it2.value();
          m.species_key = it2.key();
          m.resolution = "species key '" + it2.key() + "' for '" + species + "' (both are " + want + ")";
          break;
        }
      }
    }
    if (!genes) {
      std::string keys;
      for (auto it2 = j.begin(); it2 != j.end(); ++it2) keys += (keys.empty() ? "" : ", ") + it2.key();
      return R::error(path + ": no species key matches '" + species + "' (file has: " + keys + ")");
    }
  }
  const std::string where = m.species_key.empty() ? path + ": " : path + ": species '" + m.species_key + "': ";
  if (!genes->is_object() || genes->empty())
    return R::error(where + "value is not a non-empty object (expected {SYMBOL: {protein_embedding_id, chromosome_id, location}})");
  m.symbols.reserve(genes->size());
  m.genes.reserve(genes->size());
  for (auto it = genes->begin(); it != genes->end(); ++it) {
    const Json& e = it.value();
    if (!e.is_object())
      return R::error(where + "gene '" + it.key() + "' is not an object (expected {protein_embedding_id, chromosome_id, location})");
    BrainGene g;
    for (const auto& [key, dst] : {std::pair<const char*, int64_t*>{"protein_embedding_id", &g.protein_embedding_id},
                                   {"chromosome_id", &g.chromosome_id},
                                   {"location", &g.location}}) {
      auto f = e.find(key);
      if (f == e.end()) return R::error(where + "gene '" + it.key() + "' lacks '" + key + "'");
      if (!parse_int_field(*f, *dst))
        return R::error(where + "gene '" + it.key() + "' field '" + key + "' is " + f->dump() +
                        " (expected an integer, usually written as a string)");
    }
    if (g.protein_embedding_id < 0 || g.chromosome_id < 0 || g.chromosome_id > INT32_MAX)
      return R::error(where + "gene '" + it.key() + "' has protein_embedding_id " + std::to_string(g.protein_embedding_id) +
                      ", chromosome_id " + std::to_string(g.chromosome_id) + " (expected non-negative ids)");
    m.symbols.push_back(it.key());
    m.genes.push_back(g);
  }
  return m;
}

Result<BrainGeneMapping> read_brain_gene_mapping(const std::string& path, const std::string& species) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return Result<BrainGeneMapping>::error(path + ": cannot open (expected a UCE-brain gene mapping JSON)");
  const std::streamoff size = f.tellg();
  if (size < 0 || size > kMaxMappingBytes)
    return Result<BrainGeneMapping>::error(path + ": " + std::to_string(size) + " bytes (expected a JSON under 1 GiB)");
  std::string text(static_cast<size_t>(size), '\0');
  f.seekg(0);
  f.read(text.data(), size);
  if (!f) return Result<BrainGeneMapping>::error(path + ": read failed");
  return parse_brain_gene_mapping(text, species, path);
}

Result<BrainGeneAlignment> align_brain_genes(const BrainGeneMapping& m, std::span<const std::string> symbols,
                                             bool case_insensitive) {
  BrainGeneAlignment a;
  std::unordered_map<std::string, size_t> index;
  index.reserve(m.symbols.size());
  for (size_t i = 0; i < m.symbols.size(); ++i) {
    const std::string key = case_insensitive ? ascii_upper(m.symbols[i]) : m.symbols[i];
    auto [it, inserted] = index.emplace(key, i);
    if (!inserted) {
      it->second = i;  // last wins, as a dict comprehension over the file's items does
      ++a.folded_collisions;
    }
  }
  std::unordered_map<std::string, int> seen;
  for (size_t v = 0; v < symbols.size(); ++v) {
    const std::string key = case_insensitive ? ascii_upper(symbols[v]) : symbols[v];
    auto it = index.find(key);
    if (it == index.end()) {
      if (a.dropped++ == 0) a.first_dropped = symbols[v];
      continue;
    }
    if (seen[key]++ > 0) ++a.repeated_symbols_kept;
    const BrainGene& g = m.genes[it->second];
    a.var_index.push_back(static_cast<int64_t>(v));
    a.token.push_back(g.protein_embedding_id);
    a.chrom.push_back(static_cast<int32_t>(g.chromosome_id));
    a.start.push_back(g.location);
  }
  if (a.var_index.empty())
    return Result<BrainGeneAlignment>::error(
        m.path + ": none of the dataset's " + std::to_string(symbols.size()) + " gene symbols is in the vocabulary (" +
        (case_insensitive ? "case-insensitive" : "exact, case-sensitive") + " matching; e.g. '" +
        (symbols.empty() ? std::string() : symbols[0]) + "'" + (case_insensitive ? "" : "; try case_insensitive") + ")");
  return a;
}

}  // namespace uce
