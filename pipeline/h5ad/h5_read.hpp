// h5_read.hpp — small typed reads over the HDF5 C API (attributes, string and numeric 1-D data,
// compound fields), each failure a one-line Status naming the object and the expectation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "h5_handle.hpp"
#include "uce/status.hpp"

namespace uce::h5 {

enum class ObjKind { Missing, Group, Dataset, Other };

// Kind of the object at `path` (relative to loc); Missing when any component is absent.
ObjKind object_kind(hid_t loc, const std::string& path);
bool path_exists(hid_t loc, const std::string& path);
// Names of a group's direct children, in creation/name order as HDF5 lists them.
std::vector<std::string> child_names(hid_t group);

bool has_attr(hid_t obj, const char* name);
// A string attribute (variable-length or fixed, scalar or 1-element array; bytes accepted).
Result<std::string> read_string_attr(hid_t obj, const char* name);
std::string string_attr_or(hid_t obj, const char* name, const std::string& fallback);
// A 1-D array of strings (e.g. column-order); an empty array of any type gives {}.
Result<std::vector<std::string>> read_string_array_attr(hid_t obj, const char* name);
// An integer array attribute (e.g. shape), converted to int64.
Result<std::vector<int64_t>> read_int_array_attr(hid_t obj, const char* name);

std::vector<int64_t> dataset_dims(hid_t dset);
bool is_string_type(hid_t type);
// Type of `field` in a compound type (invalid Hid when absent).
Hid compound_member_type(hid_t compound_type, const std::string& field);
std::vector<std::string> compound_field_names(hid_t compound_type);

// Which elements of a 1-D dataset to read: a contiguous range, or a sorted point list.
struct Rows {
  int64_t begin = 0;
  int64_t count = 0;
  const int64_t* points = nullptr;  // when set: `count` explicit row ids
  static Rows range(int64_t b, int64_t n) { return Rows{b, n, nullptr}; }
  static Rows at(const int64_t* p, int64_t n) { return Rows{0, n, p}; }
};

// Reads the selected elements of a 1-D dataset, converting to memtype. `what` names it in errors.
Status read_rows(hid_t dset, hid_t memtype, const Rows& rows, void* out, const std::string& what);
// Elements of one field of a 1-D compound dataset (field empty: the elements themselves), read
// as `member_memtype`.
Status read_field_rows(hid_t dset, hid_t member_memtype, const std::string& field, const Rows& rows,
                       void* out, const std::string& what);
// Strings of a 1-D string dataset, or of a string field of a 1-D compound dataset.
Result<std::vector<std::string>> read_strings(hid_t dset, const Rows& rows, const std::string& what,
                                              const std::string& field = "");
// Numbers of a 1-D numeric dataset (or compound field) converted to int64 / double.
Result<std::vector<int64_t>> read_int64(hid_t dset, const Rows& rows, const std::string& what,
                                        const std::string& field = "");

}  // namespace uce::h5
