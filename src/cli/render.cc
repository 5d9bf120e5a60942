#include "cli/render.h"

#include <algorithm>

namespace loom::cli {
namespace {

using nlohmann::json;

// Display width of UTF-8 text, counting code points (good enough for tables).
size_t Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string Cut(const std::string& s, size_t max) {
  if (Width(s) <= max) return s;
  std::string out;
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80) {
      if (n + 1 >= max) break;
      ++n;
    }
    out += s[i];
  }
  return out + "…";
}

std::string OneLine(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\t', ' ');
  return s;
}

std::string Str(const json& j, const char* key) {
  if (!j.contains(key)) return "";
  return Cell(j[key]);
}

}  // namespace

TextTable::TextTable(std::vector<std::string> header, size_t max_width)
    : header_(std::move(header)), max_width_(max_width) {}

void TextTable::AddRow(std::vector<std::string> row) {
  row.resize(header_.size());
  for (std::string& c : row) c = Cut(OneLine(c), max_width_);
  rows_.push_back(std::move(row));
}

std::string TextTable::Render() const {
  std::vector<size_t> widths(header_.size());
  for (size_t i = 0; i < header_.size(); ++i) widths[i] = Width(header_[i]);
  for (const auto& r : rows_) {
    for (size_t i = 0; i < r.size(); ++i) widths[i] = std::max(widths[i], Width(r[i]));
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t i = 0; i < cells.size(); ++i) {
      out += cells[i];
      if (i + 1 < cells.size()) out += std::string(widths[i] - Width(cells[i]) + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(header_);
  for (const auto& r : rows_) out += line(r);
  return out;
}

std::string Join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::string Cell(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_array()) {
    std::vector<std::string> parts;
    for (const json& e : v) parts.push_back(Cell(e));
    return Join(parts, ", ");
  }
  return v.dump();
}

std::string RenderApply(const json& result) {
  std::string out;
  size_t changed = 0;
  for (const json& c : result["changes"]) {
    std::string change = c.value("change", "");
    std::string line = "  " + change +
                       std::string(change.size() < 12 ? 12 - change.size() : 1, ' ') +
                       c.value("key", "");
    if (change == "create") line += " " + c.value("to", "");
    if (change == "new version") line += " " + c.value("from", "") + " -> " + c.value("to", "");
    if (change == "unchanged") line += " " + c.value("to", "");
    out += line + "\n";
    if (change != "unchanged") ++changed;
  }
  bool dry = result.value("dryRun", false);
  out += (dry ? "dry run: would apply " : "applied ") + std::to_string(changed) + " change" +
         (changed == 1 ? "" : "s") + " (" + std::to_string(result["changes"].size()) + " document" +
         (result["changes"].size() == 1 ? "" : "s") + ")\n";
  return out;
}

std::string RenderProducts(const json& list) {
  TextTable t({"ADDRESS", "VERSION", "ALIGNMENT", "CLASSIFICATION", "PORTS", "TITLE"});
  for (const json& p : list["products"]) {
    t.AddRow({Str(p, "address"), Str(p, "version"), Str(p, "alignment"), Str(p, "classification"),
              Str(p, "portKinds"),
              Str(p, "title") + (p.value("deprecated", false) ? " (deprecated)" : "")});
  }
  return t.Render() + std::to_string(t.rows()) + " product" + (t.rows() == 1 ? "" : "s") + "\n";
}

std::string RenderSearch(const json& result) {
  TextTable t({"ADDRESS", "VERSION", "TITLE", "MATCH"}, 50);
  for (const json& h : result["hits"]) {
    t.AddRow({Str(h, "address"), Str(h, "version"),
              Str(h, "title") + (h.value("deprecated", false) ? " (deprecated)" : ""),
              Str(h, "snippet")});
  }
  if (t.rows() == 0) return "no products match\n";
  return t.Render() + std::to_string(t.rows()) + " result" + (t.rows() == 1 ? "" : "s") + "\n";
}

std::string RenderProduct(const json& p) {
  std::string out;
  out += p.value("address", "") + "  " + p.value("version", "") + "\n";
  if (!Str(p, "title").empty()) out += "  " + Str(p, "title") + "\n";
  if (!Str(p, "description").empty()) out += "  " + OneLine(Str(p, "description")) + "\n";
  if (p.contains("deprecated") && !p["deprecated"].is_null() && p["deprecated"] != false) {
    out += "  DEPRECATED: " + Cell(p["deprecated"]) + "\n";
  }
  out += "\n";
  TextTable meta({"owner", Str(p, "owner")});
  meta.AddRow({"classification", Str(p, "classification")});
  meta.AddRow({"alignment", Str(p, "alignment")});
  meta.AddRow({"tags", Str(p, "tags")});
  meta.AddRow({"versions", Str(p, "versions")});
  meta.AddRow({"applied", Str(p, "appliedAt") + " by " + Str(p, "appliedBy")});
  out += meta.Render();
  if (p.contains("schema") && p["schema"].contains("fields")) {
    out += "\nSchema\n";
    TextTable t({"FIELD", "TYPE", "REQUIRED", "PII", "GLOBAL TYPE", "DESCRIPTION"}, 48);
    for (const json& f : p["schema"]["fields"]) {
      std::string pii = f.value("pii", false) ? "yes (" + Str(f, "mask") + ")" : "";
      t.AddRow({Str(f, "name"), Str(f, "type"), f.value("required", false) ? "yes" : "", pii,
                Str(f, "globalType"), Str(f, "description")});
    }
    out += t.Render();
  }
  if (p.contains("joinable") && p["joinable"].is_object() && !p["joinable"].empty()) {
    TextTable t({"GLOBAL TYPE", "PRODUCT", "FIELDS"}, 70);
    for (const auto& [type, products] : p["joinable"].items()) {
      for (const json& other : products) {
        t.AddRow({type, Str(other, "address"), Str(other, "fields")});
      }
    }
    if (t.rows() > 0) out += "\nJoins through global types\n" + t.Render();
  }
  if (p.contains("outputPorts")) {
    out += "\nOutput ports\n";
    TextTable t({"PORT", "KIND", "ADDRESS", "SQL NAME"}, 70);
    for (const json& port : p["outputPorts"]) {
      t.AddRow({Str(port, "name"), Str(port, "kind"), Str(port, "address"), Str(port, "sqlName")});
    }
    out += t.Render();
  }
  for (const json& port : p.value("outputPorts", json::array())) {
    if (!port.contains("sample") || !port["sample"].is_array() || port["sample"].empty()) continue;
    out += "\nSample of " + Str(port, "name") + "\n";
    std::vector<std::string> header;
    for (const auto& [k, v] : port["sample"][0].items()) header.push_back(k);
    TextTable t(header, 24);
    for (const json& row : port["sample"]) {
      std::vector<std::string> cells;
      for (const std::string& h : header) cells.push_back(row.contains(h) ? Cell(row[h]) : "");
      t.AddRow(std::move(cells));
    }
    out += t.Render();
  }
  if (p.contains("inputPorts") && !p["inputPorts"].empty()) {
    out += "\nInput ports\n";
    TextTable t({"ALIAS", "ADDRESS"}, 70);
    for (const json& port : p["inputPorts"]) t.AddRow({Str(port, "alias"), Str(port, "address")});
    out += t.Render();
  }
  return out;
}

std::string RenderVersions(const json& v) {
  TextTable t({"VERSION", "APPLIED AT", "APPLIED BY", "DIGEST"});
  for (const json& e : v["versions"]) {
    t.AddRow({Str(e, "version"), Str(e, "appliedAt"), Str(e, "appliedBy"),
              Str(e, "digest").substr(0, 12)});
  }
  return v.value("address", "") + "\n" + t.Render();
}

std::string RenderDomains(const json& d) {
  TextTable t({"DOMAIN", "OWNERS", "TITLE"});
  for (const json& e : d["domains"]) t.AddRow({Str(e, "name"), Str(e, "owners"), Str(e, "title")});
  return t.Render();
}

}  // namespace loom::cli
