// h5ad_genes.hpp — which var strings name the genes: the var index, a chosen var column, or (when
// the index holds Ensembl ids) the first present of feature_name, gene_symbols, gene_symbol,
// gene_name, symbol.
#pragma once

#include <string>
#include <vector>

#include "h5ad_dataframe.hpp"

namespace uce::h5ad {

struct GeneNames {
  std::vector<std::string> names;
  std::string source;  // "var index", "var column feature_name (var index holds Ensembl ids)", ...
  bool warn = false;   // true when the choice deserves a warning (Ensembl ids kept)
};

// True when most (more than half) of the names start with "ENS".
bool looks_like_ensembl(const std::vector<std::string>& names);

Result<GeneNames> resolve_gene_names(const DataFrame& var, const std::string& gene_column);

}  // namespace uce::h5ad
