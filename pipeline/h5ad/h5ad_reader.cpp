#include "h5ad_reader.hpp"

#include <algorithm>
#include <memory>

#include "h5ad_column_text.hpp"
#include "h5ad_genes.hpp"

namespace uce::h5ad {

Reader::~Reader() = default;

void Reader::log(int level, const std::string& line) const {
  if (log_) log_(log_user_, level, line.c_str());
}

Result<Reader*> Reader::open(const uce_reader_options& options) {
  using R = Result<Reader*>;
  if (!options.path || !*options.path) return R::error("h5ad reader: options.path is empty");
  std::unique_ptr<Reader> reader(new Reader());
  reader->path_ = options.path;
  reader->log_ = options.log;
  reader->log_user_ = options.log_user;
  if (options.max_chunk_bytes > 0) reader->max_chunk_bytes_ = options.max_chunk_bytes;
  const std::string counts = options.counts && *options.counts ? options.counts : "X";
  const std::string& file_name = reader->path_;

  h5::Hid fapl(h5::file_access_plist());
  reader->file_ = h5::Hid(H5Fopen(options.path, H5F_ACC_RDONLY, fapl.get()));
  if (!reader->file_)
    return R::error(file_name + ": cannot open as HDF5 (missing, unreadable or not an .h5ad file)");
  hid_t file = reader->file_.get();

  const CountsPaths paths = counts_paths(file, counts);
  auto matrix = CountsMatrix::open(file, file_name, paths.matrix, reader->max_chunk_bytes_);
  if (!matrix) return matrix.status();
  reader->matrix_.push_back(matrix.take());
  const CountsMatrix& m = reader->matrix_.front();

  const std::string& var_path = paths.var;
  auto var = open_dataframe(file, file_name, var_path);
  if (!var) return var.status();
  if (var->n_rows != m.n_var())
    return R::error(file_name + ": " + var_path + " has " + std::to_string(var->n_rows) +
                    " rows but " + paths.matrix + " has " + std::to_string(m.n_var()) +
                    " columns; expected equal");
  auto obs = open_dataframe(file, file_name, "obs");
  if (!obs) return obs.status();
  if (obs->n_rows != m.n_obs())
    return R::error(file_name + ": obs has " + std::to_string(obs->n_rows) + " rows but " + paths.matrix +
                    " has " + std::to_string(m.n_obs()) + " rows; expected equal");

  auto genes = resolve_gene_names(var.value(), options.gene_column ? options.gene_column : "");
  if (!genes) return genes.status();
  for (const auto& g : genes->names) reader->var_names_.add(g);
  reader->gene_source_ = genes->source;
  reader->log(genes->warn ? UCE_LOG_WARN : UCE_LOG_INFO,
              file_name + ": gene symbols from " + genes->source);

  reader->layout_ = m.layout() + "; obs: " + obs->describe() + "; " + var_path + ": " +
                    var->describe();
  reader->obs_ = std::move(obs.value());
  return reader.release();
}

void Reader::info(uce_reader_info* out) const {
  const CountsMatrix& m = matrix_.front();
  out->n_obs = m.n_obs();
  out->n_var = m.n_var();
  out->layout = layout_.c_str();
  out->gene_source = gene_source_.c_str();
}

const char* Reader::var_name(int64_t var) const {
  if (var < 0 || var >= var_names_.size()) return nullptr;
  return var_names_.at(var);
}

const char* Reader::obs_name(int64_t obs) {
  if (!obs_loaded_) {
    obs_loaded_ = true;
    const int64_t piece = std::max<int64_t>(4096, max_chunk_bytes_ / 64);
    for (int64_t b = 0; b < obs_.n_rows; b += piece) {
      auto names = read_string_column(obs_, "", h5::Rows::range(b, std::min(piece, obs_.n_rows - b)));
      if (!names) {
        log(UCE_LOG_WARN, names.message());
        obs_names_ = StringArena();
        break;
      }
      for (const auto& n : names.value()) obs_names_.add(n);
    }
  }
  if (obs < 0 || obs >= obs_names_.size()) return nullptr;
  return obs_names_.at(obs);
}

Status Reader::read_rows(int64_t row_begin, int64_t row_end, uce_csr_chunk* out) {
  CsrView view;
  Status st = matrix_.front().read_rows(row_begin, row_end, view);
  if (!st) return st;
  out->row_begin = row_begin;
  out->n_rows = view.n_rows;
  out->indptr = view.indptr;
  out->indices = view.indices;
  out->values = view.values;
  return Status::ok();
}

Status Reader::check_obs_request(const char* column, int64_t row_begin, int64_t row_end) const {
  if (!column) return Status::error("h5ad reader: obs column name is NULL");
  Status st = check_column(obs_, column);
  if (!st) return st;
  if (row_begin < 0 || row_end < row_begin || row_end > obs_.n_rows)
    return Status::error(obs_.where(column) + ": rows [" + std::to_string(row_begin) + ", " +
                         std::to_string(row_end) + ") requested; expected 0 <= begin <= end <= " +
                         std::to_string(obs_.n_rows));
  return Status::ok();
}

Status Reader::obs_strings(const char* column, int64_t row_begin, int64_t row_end,
                           const char* const** out) {
  obs_text_ = StringArena();
  obs_text_ptrs_.clear();
  Status st = check_obs_request(column, row_begin, row_end);
  if (!st) return st;
  // Bounded pieces, like obs_name: vlen string reads hold a heap copy of each piece.
  const int64_t piece = std::max<int64_t>(4096, max_chunk_bytes_ / 64);
  int64_t b = row_begin;
  do {  // once even for an empty range, so a broken column is still reported
    const int64_t n = std::min(piece, row_end - b);
    auto texts = read_column_text(obs_, column, h5::Rows::range(b, n));
    if (!texts) return texts.status();
    for (const auto& t : texts.value()) obs_text_.add(t);
    b += n;
  } while (b < row_end);
  obs_text_ptrs_.reserve(static_cast<size_t>(obs_text_.size()));
  for (int64_t i = 0; i < obs_text_.size(); ++i) obs_text_ptrs_.push_back(obs_text_.at(i));
  *out = obs_text_ptrs_.data();
  return Status::ok();
}

}  // namespace uce::h5ad
