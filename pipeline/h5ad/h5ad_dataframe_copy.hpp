// h5ad_dataframe_copy.hpp — writes the rows `rows` (sorted source row ids) of a source dataframe
// as a new anndata 0.8 dataframe group: the index plus every column that can be copied (numbers,
// bools, strings, categoricals; old compound layouts too). Other columns are skipped with a warning.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "h5ad_dataframe.hpp"

namespace uce::h5ad {

using LogFn = std::function<void(int level, const std::string& line)>;

Status write_dataframe_rows(const DataFrame& source, const std::vector<int64_t>& rows, hid_t dest,
                            const std::string& name, const LogFn& log);

// A dataframe with only an index (no source file to copy from).
Status write_index_only_dataframe(hid_t dest, const std::string& name,
                                  const std::vector<std::string>& index);

}  // namespace uce::h5ad
