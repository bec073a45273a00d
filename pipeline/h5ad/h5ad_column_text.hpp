// h5ad_column_text.hpp — any obs/var column as display text (reader_obs_strings: the report colours
// its PCA by an obs column). Unlike read_string_column (gene names: text only), numbers and bools
// are accepted and printed, and missing values become "".
//
// Layouts (spec/formats.md): anndata >= 0.8 groups (string / numeric / bool datasets, categorical
// groups with codes + categories, nullable-integer / nullable-boolean groups with values + mask),
// anndata 0.7.x codes datasets with <df>/__categories/<col>, and anndata < 0.7 compound datasets
// (categories in uns/<col>_categories). Only the requested rows are read (hyperslabs); categories
// are read whole (they are the distinct values, small).
#pragma once

#include <string>
#include <vector>

#include "h5ad_dataframe.hpp"

namespace uce::h5ad {

// Ok when `column` names a data column (or the index by its name) of df; otherwise an error that
// lists the available columns.
Status check_column(const DataFrame& df, const std::string& column);

// Rows `rows` (a contiguous range) of `column` as text: strings as stored, categoricals by
// category (code -1 = ""), floats with %.17g ("nan", "inf", "-inf"), integers exactly, bools
// "True"/"False", masked nullable values "".
Result<std::vector<std::string>> read_column_text(const DataFrame& df, const std::string& column,
                                                  const h5::Rows& rows);

// The text of one floating-point value, as read_column_text prints it.
std::string format_float(double value);

}  // namespace uce::h5ad
