#pragma once

// Rendering API JSON for people (private to cli/).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace loom::cli {

// A plain text table with aligned columns; cells longer than max_width are cut with "…".
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header, size_t max_width = 60);
  void AddRow(std::vector<std::string> row);
  std::string Render() const;
  size_t rows() const { return rows_.size(); }

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  size_t max_width_;
};

std::string Join(const std::vector<std::string>& parts, const std::string& sep);
// A JSON value as a short text cell: strings bare, arrays comma-joined, null empty.
std::string Cell(const nlohmann::json& value);

std::string RenderApply(const nlohmann::json& result);
std::string RenderProducts(const nlohmann::json& list);
std::string RenderSearch(const nlohmann::json& result);
std::string RenderProduct(const nlohmann::json& product);
std::string RenderVersions(const nlohmann::json& versions);
std::string RenderDomains(const nlohmann::json& domains);

}  // namespace loom::cli
