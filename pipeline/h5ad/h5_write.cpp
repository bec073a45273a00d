#include "h5_write.hpp"

namespace uce::h5 {
namespace {

// Replaces an attribute of `type` and `space`, then writes `data`.
Status put_attr(hid_t obj, const char* name, hid_t type, hid_t space, const void* data) {
  if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
  Hid attr(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT));
  if (!attr || H5Awrite(attr.get(), type, data) < 0)
    return Status::error(std::string("cannot write attribute ") + name);
  return Status::ok();
}

}  // namespace

Hid vlen_utf8_type() {
  Hid t(H5Tcopy(H5T_C_S1));
  H5Tset_size(t.get(), H5T_VARIABLE);
  H5Tset_cset(t.get(), H5T_CSET_UTF8);
  return t;
}

Hid bool_enum_type() {
  Hid t(H5Tenum_create(H5T_NATIVE_INT8));
  int8_t no = 0, yes = 1;
  H5Tenum_insert(t.get(), "FALSE", &no);
  H5Tenum_insert(t.get(), "TRUE", &yes);
  return t;
}

Status write_string_attr(hid_t obj, const char* name, const std::string& value) {
  Hid type = vlen_utf8_type();
  Hid space(H5Screate(H5S_SCALAR));
  const char* p = value.c_str();
  return put_attr(obj, name, type.get(), space.get(), &p);
}

Status write_string_array_attr(hid_t obj, const char* name, const std::vector<std::string>& values) {
  Hid type = vlen_utf8_type();
  hsize_t n = values.size();
  Hid space(H5Screate_simple(1, &n, nullptr));
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  if (n == 0) {
    // Nothing to write; the empty attribute is what h5py makes of an empty list.
    if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
    Hid empty_type(H5Tcopy(H5T_IEEE_F64LE));
    Hid attr(H5Acreate2(obj, name, empty_type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
    return attr ? Status::ok() : Status::error(std::string("cannot write attribute ") + name);
  }
  return put_attr(obj, name, type.get(), space.get(), ptrs.data());
}

Status write_bool_attr(hid_t obj, const char* name, bool value) {
  Hid type = bool_enum_type();
  Hid space(H5Screate(H5S_SCALAR));
  int8_t v = value ? 1 : 0;
  return put_attr(obj, name, type.get(), space.get(), &v);
}

Status write_int_array_attr(hid_t obj, const char* name, const std::vector<int64_t>& values) {
  hsize_t n = values.size();
  Hid space(H5Screate_simple(1, &n, nullptr));
  return put_attr(obj, name, H5T_NATIVE_INT64, space.get(), values.data());
}

Status set_encoding(hid_t obj, const char* type, const char* version) {
  Status st = write_string_attr(obj, "encoding-type", type);
  if (!st) return st;
  return write_string_attr(obj, "encoding-version", version);
}

Result<Hid> create_group(hid_t loc, const std::string& name, const char* type, const char* version) {
  Hid g(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!g) return Result<Hid>::error("cannot create group " + name);
  Status st = set_encoding(g.get(), type, version);
  if (!st) return st;
  return g;
}

Status write_string_dataset(hid_t loc, const std::string& name, const std::vector<std::string>& values) {
  Hid type = vlen_utf8_type();
  hsize_t n = values.size();
  Hid space(H5Screate_simple(1, &n, nullptr));
  Hid dset(H5Dcreate2(loc, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!dset) return Status::error("cannot create dataset " + name);
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (const auto& v : values) ptrs.push_back(v.c_str());
  if (n > 0 && H5Dwrite(dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0)
    return Status::error("cannot write dataset " + name);
  return set_encoding(dset.get(), "string-array", "0.2.0");
}

Status write_string_scalar(hid_t loc, const std::string& name, const std::string& value) {
  Hid type = vlen_utf8_type();
  Hid space(H5Screate(H5S_SCALAR));
  Hid dset(H5Dcreate2(loc, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!dset) return Status::error("cannot create dataset " + name);
  const char* p = value.c_str();
  if (H5Dwrite(dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &p) < 0)
    return Status::error("cannot write dataset " + name);
  return set_encoding(dset.get(), "string", "0.2.0");
}

Status write_array_dataset(hid_t loc, const std::string& name, hid_t memtype, int64_t n, const void* data) {
  hsize_t dim = static_cast<hsize_t>(n);
  Hid space(H5Screate_simple(1, &dim, nullptr));
  Hid dset(H5Dcreate2(loc, name.c_str(), memtype, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!dset) return Status::error("cannot create dataset " + name);
  if (n > 0 && H5Dwrite(dset.get(), memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    return Status::error("cannot write dataset " + name);
  return set_encoding(dset.get(), "array", "0.2.0");
}

}  // namespace uce::h5
