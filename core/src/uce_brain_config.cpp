// uce_brain_config.cpp — config.json of a UCE-brain checkpoint -> BrainConfig, and the token layout.
#include "uce/uce_brain_config.hpp"

#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <sstream>

namespace uce {
namespace {

using Json = nlohmann::json;
constexpr std::streamoff kMaxConfigBytes = 16 << 20;  // a config.json is under 1 KB; refuse absurd files

class Reader {
 public:
  Reader(const Json& j, const std::string& path) : j_(j), path_(path) {}
  Status error(const std::string& key, const std::string& what) const {
    return Status::error(path_ + ": key '" + key + "' " + what);
  }
  // A present, non-null key.
  const Json* find(const std::string& key) const {
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  Status integer(const std::string& key, int64_t& out, int64_t min_value) const {
    const Json* v = find(key);
    if (!v) return Status::ok();
    // HF writes ints; accept 512.0 too (hand-edited configs) but never 512.5.
    if (v->is_number_integer()) {
      out = v->get<int64_t>();
    } else if (v->is_number_float() && v->get<double>() == static_cast<double>(static_cast<int64_t>(v->get<double>()))) {
      out = static_cast<int64_t>(v->get<double>());
    } else {
      return error(key, "is " + std::string(v->type_name()) + " " + v->dump() + " (expected an integer)");
    }
    if (out < min_value)
      return error(key, "is " + std::to_string(out) + " (expected an integer >= " + std::to_string(min_value) + ")");
    return Status::ok();
  }
  Status optional_integer(const std::string& key, std::optional<int64_t>& out, int64_t min_value) const {
    if (!find(key)) return Status::ok();
    int64_t v = 0;
    UCE_TRY(integer(key, v, min_value));
    out = v;
    return Status::ok();
  }
  Status boolean(const std::string& key, bool& out) const {
    const Json* v = find(key);
    if (!v) return Status::ok();
    if (!v->is_boolean()) return error(key, "is " + v->dump() + " (expected true or false)");
    out = v->get<bool>();
    return Status::ok();
  }
  Status choice(const std::string& key, std::string& out, std::initializer_list<const char*> allowed) const {
    const Json* v = find(key);
    if (!v) return Status::ok();
    std::string list;
    for (const char* a : allowed) list += (list.empty() ? "\"" : ", \"") + std::string(a) + "\"";
    if (!v->is_string()) return error(key, "is " + v->dump() + " (expected one of " + list + ")");
    const std::string s = v->get<std::string>();
    for (const char* a : allowed)
      if (s == a) {
        out = s;
        return Status::ok();
      }
    return error(key, "is \"" + s + "\" (expected one of " + list + ")");
  }

 private:
  const Json& j_;
  const std::string& path_;
};

}  // namespace

Result<BrainConfig> parse_brain_config(std::string_view text, const std::string& path) {
  using R = Result<BrainConfig>;
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return R::error(path + ": not valid JSON (expected a Hugging Face config.json)");
  if (!j.is_object()) return R::error(path + ": top level is not a JSON object (expected a Hugging Face config.json)");
  const Reader r(j, path);
  BrainConfig c;
  c.path = path;
  if (const Json* mt = r.find("model_type"); mt && mt->is_string()) c.model_type = mt->get<std::string>();
  if (!r.find("nhead"))
    return R::error(path + ": key 'nhead' is missing (expected the attention head count; it cannot be read "
                           "from the weights)");
  UCE_TRY(r.integer("vocab_size", c.vocab_size, 1));
  UCE_TRY(r.integer("embedding_dim", c.embedding_dim, 1));
  UCE_TRY(r.integer("padding_idx", c.padding_idx, 0));
  UCE_TRY(r.boolean("use_embedding_layer_norm", c.use_embedding_layer_norm));
  UCE_TRY(r.integer("d_model", c.d_model, 1));
  UCE_TRY(r.integer("nhead", c.nhead, 1));
  UCE_TRY(r.integer("num_layers", c.num_layers, 1));
  UCE_TRY(r.integer("expansion_factor", c.expansion_factor, 1));
  c.dim_feedforward = c.d_model * c.expansion_factor;  // UCEConfig: None -> d_model * expansion_factor
  UCE_TRY(r.integer("dim_feedforward", c.dim_feedforward, 1));
  UCE_TRY(r.choice("activation", c.activation, {"gelu", "relu"}));
  UCE_TRY(r.integer("max_sequence_length", c.max_sequence_length, 1));
  UCE_TRY(r.choice("positional_encoding_type", c.positional_encoding_type, {"sinusoidal", "learned"}));
  UCE_TRY(r.choice("embedding_reduction", c.embedding_reduction, {"cls", "mean"}));
  UCE_TRY(r.integer("output_embedding_dim", c.output_embedding_dim, 1));
  UCE_TRY(r.boolean("norm_first", c.norm_first));
  UCE_TRY(r.choice("input_projection_type", c.input_projection_type, {"linear", "mlp"}));
  UCE_TRY(r.integer("input_projection_expansion_factor", c.input_projection_expansion_factor, 1));
  UCE_TRY(r.optional_integer("cls_token_idx", c.cls_token_idx, 0));
  UCE_TRY(r.optional_integer("chrom_token_offset", c.chrom_token_offset, 0));
  UCE_TRY(r.optional_integer("chrom_token_right_idx", c.chrom_token_right_idx, 0));
  UCE_TRY(r.optional_integer("pad_token_idx", c.pad_token_idx, 0));
  UCE_TRY(r.optional_integer("pad_length", c.pad_length, 1));
  UCE_TRY(r.optional_integer("sample_size", c.sample_size, 1));
  if (c.d_model % c.nhead != 0)
    return R::error(path + ": key 'nhead' is " + std::to_string(c.nhead) + " but d_model " + std::to_string(c.d_model) +
                    " is not divisible by it (expected a divisor of d_model)");
  return c;
}

Result<BrainConfig> read_brain_config(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return Result<BrainConfig>::error(path + ": cannot open (expected the checkpoint's config.json)");
  const std::streamoff size = f.tellg();
  if (size < 0 || size > kMaxConfigBytes)
    return Result<BrainConfig>::error(path + ": " + std::to_string(size) + " bytes (expected a config.json under 16 MiB)");
  std::string text(static_cast<size_t>(size), '\0');
  f.seekg(0);
  f.read(text.data(), size);
  if (!f) return Result<BrainConfig>::error(path + ": read failed");
  return parse_brain_config(text, path);
}

Result<BrainTokenLayout> resolve_brain_token_layout(const BrainConfig& c, const BrainTokenOverrides& o) {
  // The pilot defaults are BrainTokenLayout's member initialisers: the one place they are written
  // (uce-run's config reads them from there too).
  BrainTokenLayout l;
  std::ostringstream desc;
  auto pick = [&](const char* name, int64_t& dst, const std::optional<int64_t>& over,
                  const std::optional<int64_t>& from_config, const char* config_key) {
    const char* source = "pilot default";
    if (over) {
      dst = *over;
      source = "run config";
    } else if (from_config) {
      dst = *from_config;
      source = "config.json";
    }
    desc << (desc.tellp() > 0 ? ", " : "") << name << " " << dst << " (" << source
         << (from_config && !over ? std::string(" '") + config_key + "'" : std::string()) << ")";
  };
  pick("cls_token", l.cls_token, o.cls_token, c.cls_token_idx, "cls_token_idx");
  pick("chrom_token_offset", l.chrom_token_offset, o.chrom_token_offset, c.chrom_token_offset, "chrom_token_offset");
  pick("chrom_close_token", l.chrom_close_token, o.chrom_close_token, c.chrom_token_right_idx, "chrom_token_right_idx");
  pick("pad_token", l.pad_token, o.pad_token, c.pad_token_idx, "pad_token_idx");
  pick("pad_length", l.pad_length, o.pad_length, c.pad_length, "pad_length");
  pick("sample_size", l.sample_size, o.sample_size, c.sample_size, "sample_size");
  l.description = desc.str();
  for (const auto& [name, v] : {std::pair<const char*, int64_t>{"cls_token", l.cls_token},
                                {"chrom_close_token", l.chrom_close_token},
                                {"pad_token", l.pad_token}}) {
    if (v < 0 || v >= c.vocab_size)
      return Result<BrainTokenLayout>::error(std::string("token layout: ") + name + " " + std::to_string(v) +
                                             " is outside the vocabulary of " + c.path + " (expected 0.." +
                                             std::to_string(c.vocab_size - 1) + ")");
  }
  if (l.chrom_token_offset < 0 || l.chrom_token_offset >= c.vocab_size)
    return Result<BrainTokenLayout>::error("token layout: chrom_token_offset " + std::to_string(l.chrom_token_offset) +
                                           " is outside the vocabulary of " + c.path + " (expected 0.." +
                                           std::to_string(c.vocab_size - 1) + ")");
  if (l.pad_length < 1 || l.sample_size < 1)
    return Result<BrainTokenLayout>::error("token layout: pad_length " + std::to_string(l.pad_length) + " and sample_size " +
                                           std::to_string(l.sample_size) + " (expected both >= 1)");
  if (l.sample_size + 1 > l.pad_length)
    return Result<BrainTokenLayout>::error("token layout: sample_size " + std::to_string(l.sample_size) +
                                           " does not fit in pad_length " + std::to_string(l.pad_length) +
                                           " (expected 1 + sample_size + 2 * chromosomes <= pad_length)");
  return l;
}

}  // namespace uce
