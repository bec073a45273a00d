// h5_handle.hpp — RAII ownership of HDF5 identifiers and the plugin-wide HDF5 lock.
//
// Debian's serial libhdf5 is not thread-safe, and the engine may run the reader (source node) and
// the writer (ordered writer node) on different threads at once. Every entry point of the stage
// plugin therefore takes hdf5_mutex() before touching the library.
#pragma once

#include <hdf5.h>

#include <mutex>
#include <utility>

namespace uce::h5 {

inline std::mutex& hdf5_mutex() {
  static std::mutex mutex;
  return mutex;
}

// Silence HDF5's automatic error-stack printing: failures are reported as one-line Status values.
inline void silence_hdf5_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

class Hid;
// File access properties: HDF5 1.10.7+ fails to open files on file systems without flock
// (some NFS/Lustre mounts) unless told to ignore disabled locking.
inline hid_t file_access_plist();

// Owns one hid_t (file, group, dataset, attribute, datatype, dataspace or property list).
class Hid {
 public:
  Hid() = default;
  explicit Hid(hid_t id) : id_(id) {}
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  Hid(Hid&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
  Hid& operator=(Hid&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  ~Hid() { reset(); }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  explicit operator bool() const { return valid(); }

  void reset() {
    if (id_ < 0) return;
    switch (H5Iget_type(id_)) {
      case H5I_FILE: H5Fclose(id_); break;
      case H5I_GROUP: H5Gclose(id_); break;
      case H5I_DATASET: H5Dclose(id_); break;
      case H5I_ATTR: H5Aclose(id_); break;
      case H5I_DATATYPE: H5Tclose(id_); break;
      case H5I_DATASPACE: H5Sclose(id_); break;
      case H5I_GENPROP_LST: H5Pclose(id_); break;
      default: H5Idec_ref(id_); break;
    }
    id_ = H5I_INVALID_HID;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

inline hid_t file_access_plist() {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
#if H5_VERSION_GE(1, 10, 7)
  H5Pset_file_locking(fapl, 1, 1);
#endif
  return fapl;
}

}  // namespace uce::h5
