// h5_write.hpp — writing the pieces of an anndata 0.8 file with the HDF5 C API, typed the way
// h5py writes them (variable-length UTF-8 strings, bools as the enum {FALSE, TRUE} of int8), so
// anndata reads them back without warnings.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "h5_handle.hpp"
#include "uce/status.hpp"

namespace uce::h5 {

Hid vlen_utf8_type();
Hid bool_enum_type();  // h5py's bool: enum int8 {FALSE = 0, TRUE = 1}

Status write_string_attr(hid_t obj, const char* name, const std::string& value);
Status write_string_array_attr(hid_t obj, const char* name, const std::vector<std::string>& values);
Status write_bool_attr(hid_t obj, const char* name, bool value);
Status write_int_array_attr(hid_t obj, const char* name, const std::vector<int64_t>& values);
// encoding-type / encoding-version attributes.
Status set_encoding(hid_t obj, const char* type, const char* version);

// A new group with its encoding attributes (e.g. "dict", "0.1.0").
Result<Hid> create_group(hid_t loc, const std::string& name, const char* type, const char* version);
// 1-D dataset of variable-length UTF-8 strings, encoding string-array 0.2.0.
Status write_string_dataset(hid_t loc, const std::string& name, const std::vector<std::string>& values);
// Scalar string dataset, encoding string 0.2.0 (an uns entry).
Status write_string_scalar(hid_t loc, const std::string& name, const std::string& value);
// 1-D dataset of n elements of `memtype` (also the file type), encoding array 0.2.0.
Status write_array_dataset(hid_t loc, const std::string& name, hid_t memtype, int64_t n, const void* data);

}  // namespace uce::h5
