#include "h5ad_dataframe_copy.hpp"

#include <algorithm>

#include "h5_write.hpp"
#include "uce/uce_plugin.h"

namespace uce::h5ad {
namespace {

using h5::Hid;
using h5::ObjKind;

constexpr int64_t kBatch = 1 << 16;  // rows per point-selection read

// Strings of the selected rows of a string dataset/field, read in batches.
Result<std::vector<std::string>> gather_strings(hid_t dset, const std::string& field,
                                                const std::vector<int64_t>& rows, const std::string& what) {
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (size_t b = 0; b < rows.size(); b += kBatch) {
    int64_t n = static_cast<int64_t>(std::min<size_t>(kBatch, rows.size() - b));
    auto part = h5::read_strings(dset, h5::Rows::at(rows.data() + b, n), what, field);
    if (!part) return part.status();
    for (auto& s : part.value()) out.push_back(std::move(s));
  }
  return out;
}

// Raw elements (in the member's native type) of the selected rows.
Status gather_raw(hid_t dset, hid_t native_type, const std::string& field,
                  const std::vector<int64_t>& rows, std::vector<char>& out, const std::string& what) {
  const size_t size = H5Tget_size(native_type);
  out.assign(rows.size() * size, 0);
  for (size_t b = 0; b < rows.size(); b += kBatch) {
    int64_t n = static_cast<int64_t>(std::min<size_t>(kBatch, rows.size() - b));
    Status st = h5::read_field_rows(dset, native_type, field, h5::Rows::at(rows.data() + b, n),
                                    out.data() + b * size, what);
    if (!st) return st;
  }
  return Status::ok();
}

bool copyable_number(hid_t type) {
  H5T_class_t cls = H5Tget_class(type);
  if (cls == H5T_INTEGER || cls == H5T_FLOAT) return true;
  // bools (h5py's enum of int8 with FALSE/TRUE)
  return cls == H5T_ENUM && H5Tget_nmembers(type) == 2 && H5Tget_size(type) == 1;
}

// Copies a whole 1-D categories dataset (strings or numbers) to dest/categories.
Status copy_categories(hid_t categories, hid_t dest, const std::string& what) {
  auto dims = h5::dataset_dims(categories);
  if (dims.size() != 1) return Status::error(what + ": categories are not 1-D");
  Hid type(H5Dget_type(categories));
  if (h5::is_string_type(type.get())) {
    auto values = h5::read_strings(categories, h5::Rows::range(0, dims[0]), what);
    if (!values) return values.status();
    return h5::write_string_dataset(dest, "categories", values.value());
  }
  if (!copyable_number(type.get())) return Status::error(what + ": categories of an unsupported type");
  Hid native(H5Tget_native_type(type.get(), H5T_DIR_DEFAULT));
  std::vector<char> raw(static_cast<size_t>(dims[0]) * H5Tget_size(native.get()));
  Status st = h5::read_rows(categories, native.get(), h5::Rows::range(0, dims[0]), raw.data(), what);
  if (!st) return st;
  return h5::write_array_dataset(dest, "categories", native.get(), dims[0], raw.data());
}

// Writes a categorical group: codes of the selected rows + all categories + ordered.
Status write_categorical(hid_t codes_dset, const std::string& field, hid_t categories, bool ordered,
                         const std::vector<int64_t>& rows, hid_t dest, const std::string& name,
                         const std::string& what) {
  Hid file_type(H5Dget_type(codes_dset));
  Hid member = field.empty() ? Hid(H5Tcopy(file_type.get()))
                             : h5::compound_member_type(file_type.get(), field);
  if (!member || H5Tget_class(member.get()) != H5T_INTEGER)
    return Status::error(what + ": categorical codes are not integers");
  Hid native(H5Tget_native_type(member.get(), H5T_DIR_DEFAULT));
  std::vector<char> codes;
  Status st = gather_raw(codes_dset, native.get(), field, rows, codes, what);
  if (!st) return st;
  auto group = h5::create_group(dest, name, "categorical", "0.2.0");
  if (!group) return group.status();
  st = h5::write_bool_attr(group->get(), "ordered", ordered);
  if (!st) return st;
  st = h5::write_array_dataset(group->get(), "codes", native.get(),
                               static_cast<int64_t>(rows.size()), codes.data());
  if (!st) return st;
  return copy_categories(categories, group->get(), what);
}

bool read_ordered(hid_t group) {
  if (!h5::has_attr(group, "ordered")) return false;
  Hid attr(H5Aopen(group, "ordered", H5P_DEFAULT));
  Hid type(H5Aget_type(attr.get()));
  unsigned char buf[16] = {0};
  if (H5Tget_size(type.get()) > sizeof(buf) || H5Aread(attr.get(), type.get(), buf) < 0) return false;
  for (size_t i = 0; i < H5Tget_size(type.get()); ++i)
    if (buf[i]) return true;
  return false;
}

// Copies one column of the source for `rows`; returns false (with *why) when it is skipped.
Status copy_column(const DataFrame& df, const std::string& column, const std::vector<int64_t>& rows,
                   hid_t dest, bool& copied, std::string& why) {
  copied = false;
  const std::string what = df.where(column);
  hid_t dset = H5I_INVALID_HID;
  Hid owned;
  std::string field;
  if (df.layout == DataFrame::Layout::Compound) {
    dset = df.object.get();
    field = column;
  } else {
    ObjKind kind = h5::object_kind(df.object.get(), column);
    if (kind == ObjKind::Group) {
      Hid grp(H5Gopen2(df.object.get(), column.c_str(), H5P_DEFAULT));
      std::string enc = h5::string_attr_or(grp.get(), "encoding-type", "");
      if (enc != "categorical" || h5::object_kind(grp.get(), "codes") != ObjKind::Dataset ||
          h5::object_kind(grp.get(), "categories") != ObjKind::Dataset) {
        why = "group with encoding-type '" + enc + "'";
        return Status::ok();
      }
      Hid codes(H5Dopen2(grp.get(), "codes", H5P_DEFAULT));
      Hid cats(H5Dopen2(grp.get(), "categories", H5P_DEFAULT));
      Status st = write_categorical(codes.get(), "", cats.get(), read_ordered(grp.get()), rows, dest,
                                    column, what);
      copied = st.is_ok();
      return st;
    }
    if (kind != ObjKind::Dataset) {
      why = "not a dataset or categorical group";
      return Status::ok();
    }
    owned = Hid(H5Dopen2(df.object.get(), column.c_str(), H5P_DEFAULT));
    dset = owned.get();
    if (h5::dataset_dims(dset).size() != 1) {
      why = "not 1-D";
      return Status::ok();
    }
  }
  Hid file_type(H5Dget_type(dset));
  Hid member = field.empty() ? Hid(H5Tcopy(file_type.get()))
                             : h5::compound_member_type(file_type.get(), field);
  if (!member) {
    why = "no such field";
    return Status::ok();
  }
  if (h5::is_string_type(member.get())) {
    auto values = gather_strings(dset, field, rows, what);
    if (!values) return values.status();
    copied = true;
    return h5::write_string_dataset(dest, column, values.value());
  }
  Hid categories = legacy_categories(df, column);
  if (categories && H5Tget_class(member.get()) == H5T_INTEGER) {
    Status st = write_categorical(dset, field, categories.get(), false, rows, dest, column, what);
    copied = st.is_ok();
    return st;
  }
  if (!copyable_number(member.get())) {
    why = "values of an unsupported type";
    return Status::ok();
  }
  Hid native(H5Tget_native_type(member.get(), H5T_DIR_DEFAULT));
  std::vector<char> raw;
  Status st = gather_raw(dset, native.get(), field, rows, raw, what);
  if (!st) return st;
  copied = true;
  return h5::write_array_dataset(dest, column, native.get(), static_cast<int64_t>(rows.size()),
                                 raw.data());
}

Status finish_dataframe(hid_t group, const std::vector<std::string>& columns) {
  Status st = h5::write_string_attr(group, "_index", "_index");
  if (!st) return st;
  return h5::write_string_array_attr(group, "column-order", columns);
}

}  // namespace

Status write_dataframe_rows(const DataFrame& source, const std::vector<int64_t>& rows, hid_t dest,
                            const std::string& name, const LogFn& log) {
  auto group = h5::create_group(dest, name, "dataframe", "0.2.0");
  if (!group) return group.status();
  hid_t g = group->get();
  auto index = source.layout == DataFrame::Layout::Compound
                   ? gather_strings(source.object.get(), source.index_name, rows, source.where(""))
                   : Result<std::vector<std::string>>(std::vector<std::string>{});
  if (source.layout == DataFrame::Layout::Group) {
    Hid dset(H5Dopen2(source.object.get(), source.index_name.c_str(), H5P_DEFAULT));
    index = gather_strings(dset.get(), "", rows, source.where(source.index_name));
  }
  if (!index) return index.status();
  Status st = h5::write_string_dataset(g, "_index", index.value());
  if (!st) return st;
  std::vector<std::string> written;
  for (const auto& column : source.columns) {
    if (column == "_index" || column == "__categories") continue;
    bool copied = false;
    std::string why;
    st = copy_column(source, column, rows, g, copied, why);
    if (!st) {
      // A column that fails to copy is skipped, never fatal: the embeddings matter most.
      H5Ldelete(g, column.c_str(), H5P_DEFAULT);
      why = st.message();
    }
    if (copied && st) {
      written.push_back(column);
    } else {
      log(UCE_LOG_WARN, source.where(column) + ": column not copied to the output (" + why + ")");
    }
  }
  return finish_dataframe(g, written);
}

Status write_index_only_dataframe(hid_t dest, const std::string& name,
                                  const std::vector<std::string>& index) {
  auto group = h5::create_group(dest, name, "dataframe", "0.2.0");
  if (!group) return group.status();
  Status st = h5::write_string_dataset(group->get(), "_index", index);
  if (!st) return st;
  return finish_dataframe(group->get(), {});
}

}  // namespace uce::h5ad
