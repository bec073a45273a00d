// support_table.hpp — counts of passed / failed / unsupported cases per backend and op variant,
// and the Markdown table docs/op-support.md made from them.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace uce::ops_test {

struct Cell {
  int passed = 0;
  int failed = 0;
  int unsupported = 0;
  std::set<std::string> reasons;  // distinct supports_op reasons
};

class Tally {
 public:
  Cell& at(const std::string& backend, const std::string& variant);
  const std::vector<std::string>& backends() const { return backends_; }
  const std::vector<std::string>& variants() const { return variants_; }
  const Cell* find(const std::string& backend, const std::string& variant) const;
  Cell total(const std::string& backend) const;

 private:
  std::vector<std::string> backends_, variants_;  // first-seen order
  std::map<std::string, std::map<std::string, Cell>> cells_;
};

// Writes the Markdown table; returns "" on success, else the error line.
std::string write_support_table(const std::string& path, const Tally& tally, const std::vector<std::string>& backend_lines,
                                const std::string& command);

}  // namespace uce::ops_test
