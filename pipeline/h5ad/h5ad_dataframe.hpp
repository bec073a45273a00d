// h5ad_dataframe.hpp — obs/var dataframes of an .h5ad in both layouts of formats.md:
//  * anndata >= 0.7: a group (encoding-type dataframe, _index, column-order), columns are datasets
//    (numbers, bools, variable-length strings) or categorical groups (codes, categories, ordered);
//    0.7.0-era files keep categories in <df>/__categories/<col> beside an integer codes dataset.
//  * anndata < 0.7: ONE compound dataset whose first field is the index; categorical columns are
//    integer codes with their categories in uns/<col>_categories (or <df-parent>/__categories/<col>).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "h5_read.hpp"

namespace uce::h5ad {

struct DataFrame {
  enum class Layout { Group, Compound };
  hid_t file = H5I_INVALID_HID;  // not owned
  std::string file_name;         // for messages
  std::string path;              // "obs", "var", "raw/var"
  Layout layout = Layout::Group;
  h5::Hid object;                // the group or the compound dataset
  std::string index_name;        // _index attribute value, or the compound's first field
  std::vector<std::string> columns;  // data columns in order (index excluded)
  int64_t n_rows = 0;

  std::string describe() const;  // "dataframe" / "compound dataset (anndata < 0.7)"
  bool has_column(const std::string& name) const;
  std::string where(const std::string& column) const;  // "file.h5ad: obs/cell_type"
};

Result<DataFrame> open_dataframe(hid_t file, const std::string& file_name, const std::string& path);

// The index (column empty) or a column as text: strings as stored, categoricals through their
// categories (code -1 = ""), numbers are refused (an error naming the column and its type).
Result<std::vector<std::string>> read_string_column(const DataFrame& df, const std::string& column,
                                                    const h5::Rows& rows);

// Categories of a categorical column stored the pre-0.8 way (codes + __categories / uns), as the
// dataset holding them; invalid Hid when the column is not such a categorical.
h5::Hid legacy_categories(const DataFrame& df, const std::string& column);

}  // namespace uce::h5ad
