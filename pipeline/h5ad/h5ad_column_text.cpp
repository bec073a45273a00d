#include "h5ad_column_text.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <strings.h>

namespace uce::h5ad {
namespace {

using h5::Hid;
using h5::ObjKind;
using Texts = std::vector<std::string>;
using R = Result<Texts>;

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "(none)" : out;
}

// h5py stores numpy bools as an enum of int8 with members FALSE = 0 and TRUE = 1.
bool is_bool_enum(hid_t type) {
  if (H5Tget_class(type) != H5T_ENUM || H5Tget_nmembers(type) != 2) return false;
  bool seen_false = false, seen_true = false;
  for (unsigned i = 0; i < 2; ++i) {
    char* name = H5Tget_member_name(type, i);
    if (!name) return false;
    seen_false |= strcasecmp(name, "false") == 0;
    seen_true |= strcasecmp(name, "true") == 0;
    H5free_memory(name);
  }
  return seen_false && seen_true;
}

// Enum values by member name (bools as Python prints them).
R enum_text(hid_t dset, hid_t elem_type, const std::string& field, const h5::Rows& rows,
            const std::string& where) {
  Hid native(H5Tget_native_type(elem_type, H5T_DIR_ASCEND));
  if (!native) return R::error(where + ": cannot map the enum type to memory");
  const size_t size = H5Tget_size(native.get());
  const size_t n = static_cast<size_t>(rows.count);
  std::vector<unsigned char> buf(size * n + 1, 0);
  Status st = h5::read_field_rows(dset, native.get(), field, rows, buf.data(), where);
  if (!st) return st;
  const bool boolean = is_bool_enum(elem_type);
  Texts out;
  out.reserve(n);
  char name[256];
  for (size_t i = 0; i < n; ++i) {
    if (H5Tenum_nameof(native.get(), buf.data() + i * size, name, sizeof(name)) < 0)
      return R::error(where + ": element " + std::to_string(rows.begin + static_cast<int64_t>(i)) +
                      " is not a member of its enum type");
    if (boolean)
      out.emplace_back(strcasecmp(name, "true") == 0 ? "True" : "False");
    else
      out.emplace_back(name);
  }
  return out;
}

// Elements of a 1-D dataset (field empty) or of one field of a 1-D compound dataset, as text.
R elements_text(hid_t dset, const std::string& field, const h5::Rows& rows, const std::string& where) {
  Hid file_type(H5Dget_type(dset));
  Hid elem = field.empty() ? Hid(H5Tcopy(file_type.get()))
                           : h5::compound_member_type(file_type.get(), field);
  if (!elem) return R::error(where + ": no such compound field");
  const size_t n = static_cast<size_t>(rows.count);
  Texts out;
  out.reserve(n);
  switch (H5Tget_class(elem.get())) {
    case H5T_STRING:
      return h5::read_strings(dset, rows, where, field);
    case H5T_INTEGER: {
      if (H5Tget_sign(elem.get()) == H5T_SGN_NONE && H5Tget_size(elem.get()) >= 8) {
        std::vector<uint64_t> v(n);
        Status st = h5::read_field_rows(dset, H5T_NATIVE_UINT64, field, rows, v.data(), where);
        if (!st) return st;
        for (uint64_t x : v) out.push_back(std::to_string(x));
      } else {
        std::vector<int64_t> v(n);
        Status st = h5::read_field_rows(dset, H5T_NATIVE_INT64, field, rows, v.data(), where);
        if (!st) return st;
        for (int64_t x : v) out.push_back(std::to_string(x));
      }
      return out;
    }
    case H5T_FLOAT: {
      std::vector<double> v(n);
      Status st = h5::read_field_rows(dset, H5T_NATIVE_DOUBLE, field, rows, v.data(), where);
      if (!st) return st;
      for (double x : v) out.push_back(format_float(x));
      return out;
    }
    case H5T_ENUM:
      return enum_text(dset, elem.get(), field, rows, where);
    default:
      return R::error(where + ": HDF5 type class " + std::to_string(H5Tget_class(elem.get())) +
                      " cannot be shown as text; expected strings, numbers or bools");
  }
}

R all_elements_text(hid_t dset, const std::string& where) {
  auto dims = h5::dataset_dims(dset);
  if (dims.size() != 1) return R::error(where + ": expected a 1-D dataset");
  return elements_text(dset, "", h5::Rows::range(0, dims[0]), where);
}

// codes (a dataset, or a field of the compound) mapped through the categories dataset.
R categorical_text(hid_t codes_dset, const std::string& field, hid_t categories_dset,
                   const h5::Rows& rows, const std::string& where) {
  auto codes = h5::read_int64(codes_dset, rows, where + (field.empty() ? "" : " codes"), field);
  if (!codes) return codes.status();
  auto categories = all_elements_text(categories_dset, where + " categories");
  if (!categories) return categories.status();
  const int64_t n_categories = static_cast<int64_t>(categories->size());
  Texts out;
  out.reserve(codes->size());
  for (size_t i = 0; i < codes->size(); ++i) {
    const int64_t c = (*codes)[i];
    if (c == -1) {
      out.emplace_back();  // pandas NaN
    } else if (c < 0 || c >= n_categories) {
      return R::error(where + ": categorical code " + std::to_string(c) + " at row " +
                      std::to_string(rows.begin + static_cast<int64_t>(i)) + " outside its " +
                      std::to_string(n_categories) + " categories");
    } else {
      out.push_back((*categories)[static_cast<size_t>(c)]);
    }
  }
  return out;
}

Hid open_dataset(hid_t group, const char* name) { return Hid(H5Dopen2(group, name, H5P_DEFAULT)); }

// A group column: categorical (codes, categories) or nullable (values, mask: True = missing).
R group_column_text(hid_t group, const h5::Rows& rows, const std::string& where) {
  const std::string enc = h5::string_attr_or(group, "encoding-type", "");
  if (enc == "categorical" && h5::object_kind(group, "codes") == ObjKind::Dataset &&
      h5::object_kind(group, "categories") == ObjKind::Dataset) {
    Hid codes = open_dataset(group, "codes");
    Hid categories = open_dataset(group, "categories");
    return categorical_text(codes.get(), "", categories.get(), rows, where);
  }
  if ((enc == "nullable-integer" || enc == "nullable-boolean") &&
      h5::object_kind(group, "values") == ObjKind::Dataset &&
      h5::object_kind(group, "mask") == ObjKind::Dataset) {
    Hid values_ds = open_dataset(group, "values");
    Hid mask_ds = open_dataset(group, "mask");
    auto values = elements_text(values_ds.get(), "", rows, where + "/values");
    if (!values) return values.status();
    auto mask = elements_text(mask_ds.get(), "", rows, where + "/mask");
    if (!mask) return mask.status();
    for (size_t i = 0; i < values->size(); ++i)
      if ((*mask)[i] == "True" || (*mask)[i] == "1") (*values)[i].clear();  // pandas NA
    return values;
  }
  return R::error(where + ": group with encoding-type '" + enc +
                  "'; expected categorical (codes, categories) or nullable-integer / "
                  "nullable-boolean (values, mask)");
}

}  // namespace

std::string format_float(double value) {
  if (std::isnan(value)) return "nan";  // glibc would print "-nan" for a negative NaN
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", value);
  return buf;
}

Status check_column(const DataFrame& df, const std::string& column) {
  if (!column.empty() && (column == df.index_name || df.has_column(column))) return Status::ok();
  return Status::error(df.where("") + " has no column '" + column + "'; columns: " + join(df.columns));
}

Result<std::vector<std::string>> read_column_text(const DataFrame& df, const std::string& column,
                                                  const h5::Rows& rows) {
  Status st = check_column(df, column);
  if (!st) return st;
  if (column == df.index_name) return read_string_column(df, "", rows);
  const std::string where = df.where(column);

  if (df.layout == DataFrame::Layout::Compound) {
    hid_t dset = df.object.get();
    Hid type(H5Dget_type(dset));
    Hid member = h5::compound_member_type(type.get(), column);
    if (!member) return R::error(where + ": no such compound field");
    if (H5Tget_class(member.get()) == H5T_INTEGER) {
      Hid categories = legacy_categories(df, column);  // uns/<col>_categories
      if (categories) return categorical_text(dset, column, categories.get(), rows, where);
    }
    return elements_text(dset, column, rows, where);
  }

  hid_t group = df.object.get();
  switch (h5::object_kind(group, column)) {
    case ObjKind::Dataset: {
      Hid dset = open_dataset(group, column.c_str());
      Hid type(H5Dget_type(dset.get()));
      if (H5Tget_class(type.get()) == H5T_INTEGER) {
        Hid categories = legacy_categories(df, column);  // anndata 0.7.x __categories/<col>
        if (categories) return categorical_text(dset.get(), "", categories.get(), rows, where);
      }
      return elements_text(dset.get(), "", rows, where);
    }
    case ObjKind::Group: {
      Hid sub(H5Gopen2(group, column.c_str(), H5P_DEFAULT));
      return group_column_text(sub.get(), rows, where);
    }
    default:
      return R::error(where + ": listed in column-order but not in the file");
  }
}

}  // namespace uce::h5ad
