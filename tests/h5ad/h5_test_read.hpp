// h5_test_read.hpp — the tests' own small HDF5 C API readers (independent of the plugin's code)
// for checking written outputs.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

struct TestFile {
  hid_t id = -1;
  explicit TestFile(const std::string& path) { id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT); }
  ~TestFile() {
    if (id >= 0) H5Fclose(id);
  }
  bool ok() const { return id >= 0; }
  bool has(const std::string& path) const {
    std::string prefix;
    size_t p = 0;
    while (p <= path.size()) {
      size_t e = path.find('/', p);
      if (e == std::string::npos) e = path.size();
      if (!prefix.empty()) prefix += '/';
      prefix.append(path, p, e - p);
      if (H5Lexists(id, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
      p = e + 1;
    }
    return true;
  }
  std::vector<int64_t> dims(const std::string& path) const {
    hid_t d = H5Dopen2(id, path.c_str(), H5P_DEFAULT);
    hid_t s = H5Dget_space(d);
    int nd = H5Sget_simple_extent_ndims(s);
    std::vector<hsize_t> h(static_cast<size_t>(nd > 0 ? nd : 0));
    H5Sget_simple_extent_dims(s, h.data(), nullptr);
    H5Sclose(s);
    H5Dclose(d);
    return std::vector<int64_t>(h.begin(), h.end());
  }
  template <typename T>
  std::vector<T> numbers(const std::string& path, hid_t memtype) const {
    size_t n = 1;
    for (int64_t d : dims(path)) n *= static_cast<size_t>(d);
    std::vector<T> out(n);
    hid_t d = H5Dopen2(id, path.c_str(), H5P_DEFAULT);
    if (n > 0) H5Dread(d, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data());
    H5Dclose(d);
    return out;
  }
  std::vector<std::string> strings(const std::string& path) const {
    hid_t d = H5Dopen2(id, path.c_str(), H5P_DEFAULT);
    hid_t s = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(s);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    std::vector<char*> p(static_cast<size_t>(n));
    H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, p.data());
    std::vector<std::string> out;
    for (char* c : p) out.emplace_back(c ? c : "");
    H5Dvlen_reclaim(t, s, H5P_DEFAULT, p.data());
    H5Tclose(t);
    H5Sclose(s);
    H5Dclose(d);
    return out;
  }
  std::string attr(const std::string& obj, const char* name) const {
    hid_t a = H5Aopen_by_name(id, obj.c_str(), name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) return "<missing>";
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    char* p = nullptr;
    std::string out = H5Aread(a, t, &p) >= 0 && p ? p : "<unreadable>";
    if (p) H5free_memory(p);
    H5Tclose(t);
    H5Aclose(a);
    return out;
  }
};
