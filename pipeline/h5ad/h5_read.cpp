#include "h5_read.hpp"

#include <cstring>

namespace uce::h5 {
namespace {

// Splits "a/b/c" into its components, ignoring empty ones.
std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : path) {
    if (c == '/') {
      if (!cur.empty()) parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  return parts;
}

herr_t collect_name(hid_t, const char* name, const H5L_info_t*, void* data) {
  static_cast<std::vector<std::string>*>(data)->emplace_back(name);
  return 0;
}

// Converts the bytes of one fixed-length string element: stop at NUL, strip space padding.
std::string fixed_string(const char* p, size_t size, H5T_str_t pad) {
  size_t n = strnlen(p, size);
  if (pad == H5T_STR_SPACEPAD)
    while (n > 0 && p[n - 1] == ' ') --n;
  return std::string(p, n);
}

// Reads a string-typed attribute's elements.
Result<std::vector<std::string>> read_attr_strings(hid_t attr, const char* name) {
  Hid type(H5Aget_type(attr));
  Hid space(H5Aget_space(attr));
  hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0) return Result<std::vector<std::string>>::error(std::string("cannot read attribute ") + name);
  std::vector<std::string> out;
  if (H5Tis_variable_str(type.get()) > 0) {
    Hid mem(H5Tcopy(H5T_C_S1));
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
    if (H5Aread(attr, mem.get(), ptrs.data()) < 0)
      return Result<std::vector<std::string>>::error(std::string("cannot read attribute ") + name);
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
  } else {
    size_t size = H5Tget_size(type.get());
    std::vector<char> buf(size * static_cast<size_t>(n) + 1, 0);
    if (H5Aread(attr, type.get(), buf.data()) < 0)
      return Result<std::vector<std::string>>::error(std::string("cannot read attribute ") + name);
    H5T_str_t pad = H5Tget_strpad(type.get());
    for (hssize_t i = 0; i < n; ++i) out.push_back(fixed_string(buf.data() + i * size, size, pad));
  }
  return out;
}

// Builds file and memory dataspaces selecting `rows` of a 1-D dataset.
Status select_rows(hid_t dset, const Rows& rows, Hid& file_space, Hid& mem_space,
                   const std::string& what) {
  file_space = Hid(H5Dget_space(dset));
  if (H5Sget_simple_extent_ndims(file_space.get()) != 1)
    return Status::error(what + ": expected a 1-D dataset");
  hsize_t len = 0;
  H5Sget_simple_extent_dims(file_space.get(), &len, nullptr);
  hsize_t count = static_cast<hsize_t>(rows.count);
  if (rows.points) {
    std::vector<hsize_t> coords(count);
    for (hsize_t i = 0; i < count; ++i) {
      if (rows.points[i] < 0 || static_cast<hsize_t>(rows.points[i]) >= len)
        return Status::error(what + ": row " + std::to_string(rows.points[i]) +
                             " outside the dataset's " + std::to_string(len) + " entries");
      coords[i] = static_cast<hsize_t>(rows.points[i]);
    }
    if (count > 0 &&
        H5Sselect_elements(file_space.get(), H5S_SELECT_SET, count, coords.data()) < 0)
      return Status::error(what + ": cannot select rows");
  } else {
    if (rows.begin < 0 || static_cast<hsize_t>(rows.begin) + count > len)
      return Status::error(what + ": range [" + std::to_string(rows.begin) + ", " +
                           std::to_string(rows.begin + rows.count) + ") outside the dataset's " +
                           std::to_string(len) + " entries");
    hsize_t start = static_cast<hsize_t>(rows.begin);
    if (count > 0 &&
        H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr) < 0)
      return Status::error(what + ": cannot select range");
  }
  mem_space = Hid(H5Screate_simple(1, &count, nullptr));
  if (count == 0) {
    H5Sselect_none(file_space.get());
    H5Sselect_none(mem_space.get());
  }
  return Status::ok();
}

// A memory type reading `field` of a compound (or the element itself when field is empty).
Hid wrap_field(hid_t member_mem_type, const std::string& field) {
  if (field.empty()) return Hid(H5Tcopy(member_mem_type));
  Hid compound(H5Tcreate(H5T_COMPOUND, H5Tget_size(member_mem_type)));
  H5Tinsert(compound.get(), field.c_str(), 0, member_mem_type);
  return compound;
}

}  // namespace

ObjKind object_kind(hid_t loc, const std::string& path) {
  std::string prefix;
  for (const std::string& part : split_path(path)) {
    prefix += prefix.empty() ? part : "/" + part;
    if (H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) return ObjKind::Missing;
  }
  if (prefix.empty()) return ObjKind::Group;
  H5O_info_t info;
  if (H5Oget_info_by_name(loc, prefix.c_str(), &info, H5P_DEFAULT) < 0) return ObjKind::Missing;
  if (info.type == H5O_TYPE_GROUP) return ObjKind::Group;
  if (info.type == H5O_TYPE_DATASET) return ObjKind::Dataset;
  return ObjKind::Other;
}

bool path_exists(hid_t loc, const std::string& path) {
  return object_kind(loc, path) != ObjKind::Missing;
}

std::vector<std::string> child_names(hid_t group) {
  std::vector<std::string> names;
  hsize_t idx = 0;
  H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_name, &names);
  return names;
}

bool has_attr(hid_t obj, const char* name) { return H5Aexists(obj, name) > 0; }

Result<std::string> read_string_attr(hid_t obj, const char* name) {
  if (!has_attr(obj, name)) return Result<std::string>::error(std::string("no attribute ") + name);
  Hid attr(H5Aopen(obj, name, H5P_DEFAULT));
  Hid type(H5Aget_type(attr.get()));
  if (H5Tget_class(type.get()) != H5T_STRING)
    return Result<std::string>::error(std::string("attribute ") + name + " is not a string");
  auto strings = read_attr_strings(attr.get(), name);
  if (!strings) return strings.status();
  if (strings->size() != 1)
    return Result<std::string>::error(std::string("attribute ") + name + " is not one string");
  return strings->front();
}

std::string string_attr_or(hid_t obj, const char* name, const std::string& fallback) {
  auto value = read_string_attr(obj, name);
  return value ? value.value() : fallback;
}

Result<std::vector<std::string>> read_string_array_attr(hid_t obj, const char* name) {
  using R = Result<std::vector<std::string>>;
  if (!has_attr(obj, name)) return R::error(std::string("no attribute ") + name);
  Hid attr(H5Aopen(obj, name, H5P_DEFAULT));
  Hid type(H5Aget_type(attr.get()));
  Hid space(H5Aget_space(attr.get()));
  if (H5Tget_class(type.get()) != H5T_STRING) {
    if (H5Sget_simple_extent_npoints(space.get()) == 0) return std::vector<std::string>{};
    return R::error(std::string("attribute ") + name + " is not an array of strings");
  }
  return read_attr_strings(attr.get(), name);
}

Result<std::vector<int64_t>> read_int_array_attr(hid_t obj, const char* name) {
  using R = Result<std::vector<int64_t>>;
  if (!has_attr(obj, name)) return R::error(std::string("no attribute ") + name);
  Hid attr(H5Aopen(obj, name, H5P_DEFAULT));
  Hid type(H5Aget_type(attr.get()));
  Hid space(H5Aget_space(attr.get()));
  if (H5Tget_class(type.get()) != H5T_INTEGER)
    return R::error(std::string("attribute ") + name + " is not an integer array");
  hssize_t n = H5Sget_simple_extent_npoints(space.get());
  std::vector<int64_t> values(static_cast<size_t>(n > 0 ? n : 0));
  if (n > 0 && H5Aread(attr.get(), H5T_NATIVE_INT64, values.data()) < 0)
    return R::error(std::string("cannot read attribute ") + name);
  return values;
}

std::vector<int64_t> dataset_dims(hid_t dset) {
  Hid space(H5Dget_space(dset));
  int nd = H5Sget_simple_extent_ndims(space.get());
  if (nd < 0) return {};
  std::vector<hsize_t> dims(static_cast<size_t>(nd));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return std::vector<int64_t>(dims.begin(), dims.end());
}

bool is_string_type(hid_t type) { return H5Tget_class(type) == H5T_STRING; }

Hid compound_member_type(hid_t compound_type, const std::string& field) {
  if (H5Tget_class(compound_type) != H5T_COMPOUND) return Hid();
  int idx = H5Tget_member_index(compound_type, field.c_str());
  if (idx < 0) return Hid();
  return Hid(H5Tget_member_type(compound_type, static_cast<unsigned>(idx)));
}

std::vector<std::string> compound_field_names(hid_t compound_type) {
  std::vector<std::string> names;
  int n = H5Tget_nmembers(compound_type);
  for (int i = 0; i < n; ++i) {
    char* name = H5Tget_member_name(compound_type, static_cast<unsigned>(i));
    if (name) {
      names.emplace_back(name);
      H5free_memory(name);
    }
  }
  return names;
}

Status read_rows(hid_t dset, hid_t memtype, const Rows& rows, void* out, const std::string& what) {
  Hid file_space, mem_space;
  Status st = select_rows(dset, rows, file_space, mem_space, what);
  if (!st) return st;
  if (rows.count == 0) return Status::ok();
  if (H5Dread(dset, memtype, mem_space.get(), file_space.get(), H5P_DEFAULT, out) < 0)
    return Status::error(what + ": read failed (element type not convertible?)");
  return Status::ok();
}

Status read_field_rows(hid_t dset, hid_t member_memtype, const std::string& field, const Rows& rows,
                       void* out, const std::string& what) {
  Hid mem = wrap_field(member_memtype, field);
  return read_rows(dset, mem.get(), rows, out, what);
}

Result<std::vector<std::string>> read_strings(hid_t dset, const Rows& rows, const std::string& what,
                                              const std::string& field) {
  using R = Result<std::vector<std::string>>;
  Hid file_type(H5Dget_type(dset));
  Hid elem_type = field.empty() ? Hid(H5Tcopy(file_type.get()))
                                : compound_member_type(file_type.get(), field);
  if (!elem_type) return R::error(what + ": no field " + field);
  if (!is_string_type(elem_type.get())) return R::error(what + ": expected strings");
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(rows.count));
  const size_t n = static_cast<size_t>(rows.count);
  if (H5Tis_variable_str(elem_type.get()) > 0) {
    Hid member(H5Tcopy(H5T_C_S1));
    H5Tset_size(member.get(), H5T_VARIABLE);
    H5Tset_cset(member.get(), H5Tget_cset(elem_type.get()));
    Hid mem = wrap_field(member.get(), field);
    std::vector<char*> ptrs(n, nullptr);
    Status st = read_rows(dset, mem.get(), rows, ptrs.data(), what);
    if (!st) return st;
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    if (n > 0) {
      hsize_t dim = n;
      Hid space(H5Screate_simple(1, &dim, nullptr));
      H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
    }
  } else {
    size_t size = H5Tget_size(elem_type.get());
    Hid member(H5Tcopy(elem_type.get()));
    Hid mem = wrap_field(member.get(), field);
    std::vector<char> buf(size * n + 1, 0);
    Status st = read_rows(dset, mem.get(), rows, buf.data(), what);
    if (!st) return st;
    H5T_str_t pad = H5Tget_strpad(elem_type.get());
    for (size_t i = 0; i < n; ++i) out.push_back(fixed_string(buf.data() + i * size, size, pad));
  }
  return out;
}

Result<std::vector<int64_t>> read_int64(hid_t dset, const Rows& rows, const std::string& what,
                                        const std::string& field) {
  using R = Result<std::vector<int64_t>>;
  Hid file_type(H5Dget_type(dset));
  Hid elem_type = field.empty() ? Hid(H5Tcopy(file_type.get()))
                                : compound_member_type(file_type.get(), field);
  if (!elem_type) return R::error(what + ": no field " + field);
  H5T_class_t cls = H5Tget_class(elem_type.get());
  if (cls != H5T_INTEGER && cls != H5T_FLOAT && cls != H5T_ENUM)
    return R::error(what + ": expected integers");
  std::vector<int64_t> out(static_cast<size_t>(rows.count));
  hid_t base = H5T_NATIVE_INT64;
  Hid mem = wrap_field(base, field);
  Status st = read_rows(dset, mem.get(), rows, out.data(), what);
  if (!st) return st;
  return out;
}

}  // namespace uce::h5
