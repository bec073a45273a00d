#include "h5ad_dataframe.hpp"

#include <algorithm>

namespace uce::h5ad {
namespace {

using h5::Hid;
using h5::ObjKind;

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "(none)" : out;
}

// Maps codes to category strings; code -1 (pandas NaN) becomes "".
Result<std::vector<std::string>> decode(const std::vector<int64_t>& codes,
                                        const std::vector<std::string>& categories,
                                        const std::string& where) {
  std::vector<std::string> out;
  out.reserve(codes.size());
  for (int64_t c : codes) {
    if (c == -1) {
      out.emplace_back();
    } else if (c < 0 || c >= static_cast<int64_t>(categories.size())) {
      return Result<std::vector<std::string>>::error(
          where + ": categorical code " + std::to_string(c) + " outside its " +
          std::to_string(categories.size()) + " categories");
    } else {
      out.push_back(categories[static_cast<size_t>(c)]);
    }
  }
  return out;
}

Result<std::vector<std::string>> all_strings(hid_t dset, const std::string& where) {
  auto dims = h5::dataset_dims(dset);
  if (dims.size() != 1)
    return Result<std::vector<std::string>>::error(where + ": expected a 1-D dataset");
  return h5::read_strings(dset, h5::Rows::range(0, dims[0]), where);
}

}  // namespace

std::string DataFrame::describe() const {
  return layout == Layout::Group ? "dataframe" : "compound dataset (anndata < 0.7)";
}

bool DataFrame::has_column(const std::string& name) const {
  return std::find(columns.begin(), columns.end(), name) != columns.end();
}

std::string DataFrame::where(const std::string& column) const {
  return file_name + ": " + path + (column.empty() ? "" : "/" + column);
}

Result<DataFrame> open_dataframe(hid_t file, const std::string& file_name, const std::string& path) {
  using R = Result<DataFrame>;
  DataFrame df;
  df.file = file;
  df.file_name = file_name;
  df.path = path;
  ObjKind kind = h5::object_kind(file, path);
  if (kind == ObjKind::Missing) return R::error(file_name + ": no " + path + " dataframe in the file");
  if (kind == ObjKind::Dataset) {
    df.layout = DataFrame::Layout::Compound;
    df.object = Hid(H5Dopen2(file, path.c_str(), H5P_DEFAULT));
    Hid type(H5Dget_type(df.object.get()));
    auto dims = h5::dataset_dims(df.object.get());
    if (H5Tget_class(type.get()) != H5T_COMPOUND || dims.size() != 1)
      return R::error(file_name + ": " + path +
                      " is a dataset but not a 1-D compound (old anndata) dataframe");
    auto fields = h5::compound_field_names(type.get());
    if (fields.empty()) return R::error(file_name + ": " + path + " compound has no fields");
    // anndata < 0.7 writes the index first, named "index"; prefer that name if present.
    auto it = std::find(fields.begin(), fields.end(), "index");
    df.index_name = it != fields.end() ? *it : fields.front();
    for (const auto& f : fields)
      if (f != df.index_name) df.columns.push_back(f);
    df.n_rows = dims[0];
    return df;
  }
  if (kind != ObjKind::Group) return R::error(file_name + ": " + path + " is neither group nor dataset");
  df.object = Hid(H5Gopen2(file, path.c_str(), H5P_DEFAULT));
  hid_t g = df.object.get();
  std::string enc = h5::string_attr_or(g, "encoding-type", "");
  if (!enc.empty() && enc != "dataframe")
    return R::error(file_name + ": " + path + " has encoding-type '" + enc +
                    "'; expected 'dataframe'");
  auto children = h5::child_names(g);
  df.index_name = h5::string_attr_or(g, "_index", "");
  if (df.index_name.empty()) {
    for (const char* guess : {"_index", "index"})
      if (std::find(children.begin(), children.end(), guess) != children.end()) df.index_name = guess;
  }
  if (df.index_name.empty() || h5::object_kind(g, df.index_name) != ObjKind::Dataset)
    return R::error(file_name + ": " + path + " has no index dataset (_index attribute '" +
                    df.index_name + "'); it holds: " + join(children));
  Hid index(H5Dopen2(g, df.index_name.c_str(), H5P_DEFAULT));
  auto dims = h5::dataset_dims(index.get());
  if (dims.size() != 1)
    return R::error(file_name + ": " + path + "/" + df.index_name + " is not 1-D");
  df.n_rows = dims[0];
  auto order = h5::read_string_array_attr(g, "column-order");
  if (order) {
    df.columns = order.take();
  } else {
    for (const auto& c : children)
      if (c != df.index_name && c != "__categories") df.columns.push_back(c);
  }
  return df;
}

Hid legacy_categories(const DataFrame& df, const std::string& column) {
  std::vector<std::string> candidates;
  if (df.layout == DataFrame::Layout::Group) {
    candidates.push_back(df.path + "/__categories/" + column);
  } else {
    candidates.push_back("uns/" + column + "_categories");
    std::string parent = df.path.find('/') == std::string::npos
                             ? ""
                             : df.path.substr(0, df.path.rfind('/') + 1);
    candidates.push_back(parent + "__categories/" + column);
  }
  for (const auto& c : candidates)
    if (h5::object_kind(df.file, c) == ObjKind::Dataset)
      return Hid(H5Dopen2(df.file, c.c_str(), H5P_DEFAULT));
  return Hid();
}

Result<std::vector<std::string>> read_string_column(const DataFrame& df, const std::string& column,
                                                    const h5::Rows& rows) {
  using R = Result<std::vector<std::string>>;
  const bool is_index = column.empty() || column == df.index_name;
  const std::string name = is_index ? df.index_name : column;
  const std::string where = df.where(name);
  if (!is_index && !df.has_column(column))
    return R::error(df.where("") + " has no column '" + column + "'; columns: " + join(df.columns));

  if (df.layout == DataFrame::Layout::Compound) {
    Hid type(H5Dget_type(df.object.get()));
    Hid member = h5::compound_member_type(type.get(), name);
    if (!member) return R::error(where + ": no such compound field");
    if (h5::is_string_type(member.get()))
      return h5::read_strings(df.object.get(), rows, where, name);
    Hid cats = legacy_categories(df, name);
    if (!cats) return R::error(where + ": expected a string or categorical column");
    auto codes = h5::read_int64(df.object.get(), rows, where, name);
    if (!codes) return codes.status();
    auto categories = all_strings(cats.get(), where + " categories");
    if (!categories) return categories.status();
    return decode(codes.value(), categories.value(), where);
  }

  hid_t g = df.object.get();
  ObjKind kind = h5::object_kind(g, name);
  if (kind == ObjKind::Dataset) {
    Hid dset(H5Dopen2(g, name.c_str(), H5P_DEFAULT));
    Hid type(H5Dget_type(dset.get()));
    if (h5::is_string_type(type.get())) return h5::read_strings(dset.get(), rows, where);
    Hid cats = legacy_categories(df, name);
    if (!cats) return R::error(where + ": expected a string or categorical column");
    auto codes = h5::read_int64(dset.get(), rows, where);
    if (!codes) return codes.status();
    auto categories = all_strings(cats.get(), where + " categories");
    if (!categories) return categories.status();
    return decode(codes.value(), categories.value(), where);
  }
  if (kind == ObjKind::Group) {
    Hid grp(H5Gopen2(g, name.c_str(), H5P_DEFAULT));
    std::string enc = h5::string_attr_or(grp.get(), "encoding-type", "");
    if (enc != "categorical" || h5::object_kind(grp.get(), "codes") != ObjKind::Dataset ||
        h5::object_kind(grp.get(), "categories") != ObjKind::Dataset)
      return R::error(where + ": group with encoding-type '" + enc +
                      "'; expected a categorical (codes, categories)");
    Hid codes_ds(H5Dopen2(grp.get(), "codes", H5P_DEFAULT));
    Hid cats_ds(H5Dopen2(grp.get(), "categories", H5P_DEFAULT));
    auto codes = h5::read_int64(codes_ds.get(), rows, where + "/codes");
    if (!codes) return codes.status();
    auto categories = all_strings(cats_ds.get(), where + "/categories");
    if (!categories) return categories.status();
    return decode(codes.value(), categories.value(), where);
  }
  return R::error(where + ": column not found in the file");
}

}  // namespace uce::h5ad
