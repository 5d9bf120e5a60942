// ParseDocuments and LoadPath: splitting a file into YAML documents, parsing each with yaml-cpp
// (whose exceptions stop here), and checking what spans documents.

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "spec/parsers.h"

namespace loom::spec {
namespace {

using internal::Context;
using internal::MapReader;

struct Chunk {
  int first_line = 0;  // 0-based line of the chunk's first line in the file
  std::string text;
};

bool IsMarker(std::string_view line, std::string_view marker) {
  if (!line.starts_with(marker)) return false;
  return line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r';
}

bool IsBlank(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    size_t end = text.find('\n', i);
    std::string_view line = text.substr(i, end == text.npos ? text.npos : end - i);
    size_t first = line.find_first_not_of(" \t\r");
    if (first != std::string_view::npos && line[first] != '#') return false;
    if (end == text.npos) break;
    i = end + 1;
  }
  return true;
}

// Splits at lines "---" and "..." (a document marker is always at column 1, so a block scalar
// cannot contain one). A marker followed by content on its line is reported.
std::vector<Chunk> Split(std::string_view text, const std::string& file,
                         std::vector<Diagnostic>* diags) {
  std::vector<Chunk> chunks(1);
  int line_no = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = text.find('\n', i);
    std::string_view line = text.substr(i, end == text.npos ? text.npos : end - i + 1);
    std::string_view bare = line.substr(0, line.find_last_not_of("\r\n") + 1);
    if (IsMarker(bare, "---") || IsMarker(bare, "...")) {
      std::string_view rest = bare.substr(3);
      size_t first = rest.find_first_not_of(" \t");
      if (first != std::string_view::npos && rest[first] != '#') {
        diags->push_back(Diagnostic{SourcePos{file, line_no + 1, static_cast<int>(first) + 4}, "",
                                    "content after '" + std::string(bare.substr(0, 3)) +
                                        "' is not supported; start the document on the next line"});
      }
      chunks.push_back(Chunk{line_no + 1, ""});
    } else {
      chunks.back().text += line;
    }
    ++line_no;
    if (end == text.npos) break;
    i = end + 1;
  }
  return chunks;
}

// yaml-cpp's messages name the parser's state; say what the author most likely did.
std::string SyntaxHint(const std::string& msg) {
  static const std::pair<std::string_view, std::string_view> kHints[] = {
      {"end of sequence flow not found", " (a '[' list is not closed with ']')"},
      {"end of map flow not found", " (a '{' map is not closed with '}')"},
      {"illegal flow end", " (check that each '[' and '{' is closed by its own ']' or '}')"},
      {"illegal tab when looking for indentation", " (indent with spaces, not tabs)"},
      {"illegal map value", " (check the indentation, or quote a value that contains ': ')"},
      {"end of map not found", " (check the indentation)"},
      {"end of sequence not found", " (check the indentation)"},
  };
  for (auto [text, hint] : kHints) {
    if (msg == text) return std::string(hint);
  }
  return "";
}

void ParseChunk(const Chunk& chunk, const std::string& file, std::vector<Document>* docs,
                std::vector<Diagnostic>* diags) {
  std::vector<Diagnostic> local;
  Context ctx(file, chunk.first_line, chunk.text, &local);
  YAML::Node root;
  try {
    root = YAML::Load(chunk.text);
  } catch (const YAML::ParserException& e) {
    ctx.Error(ctx.Pos(e.mark), "", "YAML syntax error: " + e.msg + SyntaxHint(e.msg));
  } catch (const YAML::Exception& e) {
    ctx.Error(ctx.Pos(e.mark), "", "YAML error: " + e.msg);
  } catch (const std::exception& e) {
    ctx.Error(ctx.Pos(YAML::Mark::null_mark()), "", std::string("YAML error: ") + e.what());
  }
  if (local.empty()) {
    Document doc;
    MapReader m(ctx, root, "", {"apiVersion", "kind", "metadata", "spec"});
    if (m.ok()) {
      doc.pos = ctx.Pos(root);
      std::string api;
      if (m.String("apiVersion", &api, true) && api != kApiVersion) {
        m.Error("apiVersion",
                "unsupported apiVersion '" + api + "' (expected " + std::string(kApiVersion) + ")");
      }
      size_t kind = 0;
      if (m.Require("kind") && m.Enum("kind", {"Domain", "DataProduct", "Policy"}, &kind)) {
        doc.kind = static_cast<Kind>(kind);
        switch (doc.kind) {
          case Kind::kDomain:
            doc.body = internal::ParseDomain(m);
            break;
          case Kind::kDataProduct:
            doc.body = internal::ParseDataProduct(m);
            break;
          case Kind::kPolicy:
            doc.body = internal::ParsePolicy(m);
            break;
        }
      }
    }
    if (local.empty()) {
      doc.text = chunk.text;
      docs->push_back(std::move(doc));
    }
  }
  std::stable_sort(local.begin(), local.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.pos.line, a.pos.column) < std::tie(b.pos.line, b.pos.column);
  });
  diags->insert(diags->end(), local.begin(), local.end());
}

// The offset of the first byte that is not well-formed UTF-8 (RFC 3629), or npos. Descriptors
// become JSON, which must be UTF-8.
size_t FirstInvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, min = 0x10000;
    } else {
      return i;
    }
    uint32_t cp = c & (0x3F >> n);
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return i;
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += n + 1;
  }
  return std::string_view::npos;
}

void ParseFile(std::string_view text, const std::string& file, std::vector<Document>* docs,
               std::vector<Diagnostic>* diags) {
  if (size_t bad = FirstInvalidUtf8(text); bad != std::string_view::npos) {
    const std::string_view before = text.substr(0, bad);
    const size_t nl = before.rfind('\n');
    const int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    const int column = static_cast<int>(bad - (nl == std::string_view::npos ? 0 : nl + 1)) + 1;
    char hex[8];
    std::snprintf(hex, sizeof(hex), "0x%02X", static_cast<unsigned char>(text[bad]));
    diags->push_back(
        Diagnostic{SourcePos{file, line, column}, "",
                   std::string("not valid UTF-8 (byte ") + hex + "); descriptors are UTF-8 text"});
    return;
  }
  bool any = false;
  for (const Chunk& chunk : Split(text, file, diags)) {
    if (IsBlank(chunk.text)) continue;
    any = true;
    ParseChunk(chunk, file, docs, diags);
  }
  if (!any && diags->empty()) {
    diags->push_back(Diagnostic{SourcePos{file, 1, 1}, "",
                                "no descriptor in this file (expected apiVersion, kind, metadata "
                                "and spec)"});
  }
}

void CheckDuplicateKeys(const std::vector<Document>& docs, std::vector<Diagnostic>* diags) {
  std::map<std::string, const Document*> first;
  for (const Document& d : docs) {
    auto [it, fresh] = first.emplace(d.Key(), &d);
    if (fresh) continue;
    const SourcePos& p = it->second->pos;
    diags->push_back(Diagnostic{d.pos, "",
                                "duplicate document " + d.Key() + " (also at " + p.file + ":" +
                                    std::to_string(p.line) + ":" + std::to_string(p.column) + ")"});
  }
}

Result<std::vector<Document>> Finish(std::vector<Document> docs,
                                     const std::vector<Diagnostic>& diags,
                                     std::vector<Diagnostic>* out) {
  if (out != nullptr) out->insert(out->end(), diags.begin(), diags.end());
  if (diags.empty()) return docs;
  std::string message;
  for (const Diagnostic& d : diags) {
    if (!message.empty()) message += '\n';
    message += d.ToString();
  }
  return InvalidArgument(std::move(message));
}

}  // namespace

Result<std::vector<Document>> ParseDocuments(std::string_view yaml_text, std::string_view file,
                                             std::vector<Diagnostic>* diagnostics) {
  std::vector<Document> docs;
  std::vector<Diagnostic> diags;
  ParseFile(yaml_text, std::string(file), &docs, &diags);
  if (diags.empty()) CheckDuplicateKeys(docs, &diags);
  return Finish(std::move(docs), diags, diagnostics);
}

Result<std::vector<Document>> LoadPath(const std::string& path,
                                       std::vector<Diagnostic>* diagnostics) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return NotFound("no such file or directory: " + path);
  std::vector<std::string> files;
  if (fs::is_directory(st)) {
    std::string prefix = path;
    while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
    for (auto it = fs::recursive_directory_iterator(path, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const std::string ext = it->path().extension().string();
      if (!it->is_regular_file() || (ext != ".yaml" && ext != ".yml")) continue;
      files.push_back(prefix + "/" + fs::relative(it->path(), path).generic_string());
    }
    if (ec) return Internal("cannot list " + path + ": " + ec.message());
    if (files.empty()) return InvalidArgument("no *.yaml or *.yml files under " + path);
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  std::vector<Document> docs;
  std::vector<Diagnostic> diags;
  for (const std::string& file : files) {
    Result<std::string> text = ReadFileToString(*FileSystem::Default(), file);
    if (!text.ok()) return text.status();
    ParseFile(*text, file, &docs, &diags);
  }
  if (diags.empty()) CheckDuplicateKeys(docs, &diags);
  return Finish(std::move(docs), diags, diagnostics);
}

}  // namespace loom::spec
