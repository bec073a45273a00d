#include "h5ad_genes.hpp"

namespace uce::h5ad {

bool looks_like_ensembl(const std::vector<std::string>& names) {
  size_t ens = 0;
  for (const auto& n : names) ens += n.rfind("ENS", 0) == 0 ? 1 : 0;
  return !names.empty() && ens * 2 > names.size();
}

Result<GeneNames> resolve_gene_names(const DataFrame& var, const std::string& gene_column) {
  const h5::Rows all = h5::Rows::range(0, var.n_rows);
  GeneNames out;
  if (!gene_column.empty()) {
    auto names = read_string_column(var, gene_column, all);
    if (!names) return names.status();
    out.names = names.take();
    out.source = "var column " + gene_column;
    return out;
  }
  auto index = read_string_column(var, "", all);
  if (!index) return index.status();
  if (!looks_like_ensembl(index.value())) {
    out.names = index.take();
    out.source = "var index";
    return out;
  }
  for (const char* column : {"feature_name", "gene_symbols", "gene_symbol", "gene_name", "symbol"}) {
    if (!var.has_column(column)) continue;
    auto names = read_string_column(var, column, all);
    if (!names) return names.status();
    out.names = names.take();
    out.source = std::string("var column ") + column + " (var index holds Ensembl ids)";
    return out;
  }
  out.names = index.take();
  out.source = "var index (Ensembl ids; no feature_name, gene_symbols, gene_symbol, gene_name or "
               "symbol column)";
  out.warn = true;
  return out;
}

}  // namespace uce::h5ad
