// config_paths.cpp — where the original UCE keeps a species' protein embeddings.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config.hpp"

namespace uce::cli {
namespace fs = std::filesystem;

const std::vector<SpeciesFile>& uce_species_files() {
  // The file names of the official tool (snap-stanford/UCE data_proc/gene_embeddings.py).
  static const std::vector<SpeciesFile> table = {
      {"human", "Homo_sapiens", "Homo_sapiens.GRCh38.gene_symbol_to_embedding_ESM2.pt"},
      {"mouse", "Mus_musculus", "Mus_musculus.GRCm39.gene_symbol_to_embedding_ESM2.pt"},
      {"frog", "Xenopus_tropicalis",
       "Xenopus_tropicalis.Xenopus_tropicalis_v9.1.gene_symbol_to_embedding_ESM2.pt"},
      {"zebrafish", "Danio_rerio", "Danio_rerio.GRCz11.gene_symbol_to_embedding_ESM2.pt"},
      {"mouse_lemur", "Microcebus_murinus", "Microcebus_murinus.Mmur_3.0.gene_symbol_to_embedding_ESM2.pt"},
      {"pig", "Sus_scrofa", "Sus_scrofa.Sscrofa11.1.gene_symbol_to_embedding_ESM2.pt"},
      {"macaca_fascicularis", "Macaca_fascicularis",
       "Macaca_fascicularis.Macaca_fascicularis_6.0.gene_symbol_to_embedding_ESM2.pt"},
      {"macaca_mulatta", "Macaca_mulatta", "Macaca_mulatta.Mmul_10.gene_symbol_to_embedding_ESM2.pt"},
  };
  return table;
}

namespace {

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec) && !fs::is_directory(p, ec);
}

// new_species_protein_embeddings.csv ("species,path"): the official tool's table for species added
// later. Relative paths resolve against the files folder.
std::string lookup_new_species_csv(const fs::path& csv, const std::string& species) {
  std::ifstream in(csv);
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (header) { header = false; continue; }
    size_t comma = line.find(',');
    if (comma == std::string::npos || line.substr(0, comma) != species) continue;
    fs::path p = line.substr(comma + 1);
    if (p.is_relative()) p = csv.parent_path() / p;
    return p.lexically_normal().string();
  }
  return "";
}

}  // namespace

Result<std::string> find_protein_embedding_file(const std::string& files_dir, const std::string& species) {
  const fs::path dir = fs::path(files_dir) / "protein_embeddings";
  std::vector<std::string> looked;
  std::string prefix = species;  // an unknown species may still ship "<species>.*.pt"
  for (const auto& row : uce_species_files()) {
    if (species != row.species) continue;
    prefix = row.prefix;
    fs::path official = dir / row.official_file;
    if (is_file(official)) return official.string();
    looked.push_back(official.string());
  }
  std::vector<std::string> matches;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      std::string name = e.path().filename().string();
      if (name.size() > prefix.size() + 4 && name.rfind(prefix + ".", 0) == 0 &&
          name.substr(name.size() - 3) == ".pt")
        matches.push_back(e.path().string());
    }
  }
  std::sort(matches.begin(), matches.end());
  if (matches.size() == 1) return matches[0];
  if (matches.size() > 1)
    return Result<std::string>::error("several protein embedding files for species \"" + species +
                                      "\" (" + matches[0] + ", " + matches[1] +
                                      "...): set model.protein_embeddings");
  looked.push_back((dir / (prefix + ".*.pt")).string());
  fs::path csv = fs::path(files_dir) / "new_species_protein_embeddings.csv";
  std::string listed = is_file(csv) ? lookup_new_species_csv(csv, species) : "";
  if (!listed.empty() && is_file(listed)) return listed;
  looked.push_back(csv.string() + (listed.empty() ? "" : " -> " + listed));
  std::string msg = "no protein embedding file for species \"" + species + "\"; looked at: ";
  for (size_t i = 0; i < looked.size(); ++i) msg += (i ? ", " : "") + looked[i];
  return Result<std::string>::error(msg + " (set model.protein_embeddings to the .pt file)");
}

}  // namespace uce::cli
