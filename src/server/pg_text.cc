#include "server/pg_text.h"

#include <cstdio>

namespace loom::server::pg {
namespace {

bool IsArrayOid(int32_t oid) {
  switch (oid) {
    case 1000:
    case 1005:
    case 1007:
    case 1016:
    case 1021:
    case 1022:
    case 1231:
    case 1009:
    case 1182:
    case 1115:
    case 1185:
    case 2951:
    case 1183:
    case 1001:
      return true;
    default:
      return false;
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendHexByte(unsigned char b, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back(kHex[b >> 4]);
  out->push_back(kHex[b & 15]);
}

void WriteText(const engine::Chunk& c, size_t col, size_t row, std::string* out) {
  c.AppendText(col, row, out);
}

void WriteBool(const engine::Chunk& c, size_t col, size_t row, std::string* out) {
  std::string t;
  c.AppendText(col, row, &t);
  out->push_back(t == "true" ? 't' : 'f');
}

void WriteFloat(const engine::Chunk& c, size_t col, size_t row, std::string* out) {
  size_t at = out->size();
  c.AppendText(col, row, out);
  std::string_view v(out->data() + at, out->size() - at);
  const char* pg = v == "nan"    ? "NaN"
                   : v == "inf"  ? "Infinity"
                   : v == "-inf" ? "-Infinity"
                                 : nullptr;
  if (pg != nullptr) {
    out->resize(at);
    out->append(pg);
  }
}

void WriteBytea(const engine::Chunk& c, size_t col, size_t row, std::string* out) {
  std::string t;
  c.AppendText(col, row, &t);
  AppendDuckBlobAsPgHex(t, out);
}

// DuckDB: "1 year 2 months 3 days 04:05:06"; PostgreSQL: "1 year 2 mons 3 days 04:05:06".
void WriteInterval(const engine::Chunk& c, size_t col, size_t row, std::string* out) {
  std::string t;
  c.AppendText(col, row, &t);
  for (size_t i = 0; i < t.size();) {
    if (t.compare(i, 6, " month") == 0) {
      out->append(" mon");
      i += 6;
    } else {
      out->push_back(t[i++]);
    }
  }
}

// DuckDB: "0044-03-15 (BC)" and "0044-03-15 (BC) 10:00:00"; PostgreSQL puts " BC" last.
void WriteDateTime(const engine::Chunk& c, size_t col, size_t row, std::string* out) {
  size_t at = out->size();
  c.AppendText(col, row, out);
  size_t bc = out->find(" (BC)", at);
  if (bc != std::string::npos) {
    out->erase(bc, 5);
    out->append(" BC");
  }
}

void WriteArray(const engine::Chunk& c, size_t col, size_t row, std::string* out) {
  std::string t;
  c.AppendText(col, row, &t);
  AppendJsonAsPgArray(t, out);
}

// Appends `s` as an array element, quoted when PostgreSQL would quote it.
void AppendArrayElement(std::string_view s, std::string* out) {
  bool quote =
      s.empty() || (s.size() == 4 && (s[0] == 'N' || s[0] == 'n') && (s[1] == 'U' || s[1] == 'u') &&
                    (s[2] == 'L' || s[2] == 'l') && (s[3] == 'L' || s[3] == 'l'));
  for (char ch : s) {
    if (ch == '{' || ch == '}' || ch == ',' || ch == '"' || ch == '\\' || ch == ' ' || ch == '\t' ||
        ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v') {
      quote = true;
    }
  }
  if (!quote) {
    out->append(s);
    return;
  }
  out->push_back('"');
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out->push_back('\\');
    out->push_back(ch);
  }
  out->push_back('"');
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | cp >> 6));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | cp >> 12));
    out->push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | cp >> 18));
    out->push_back(static_cast<char>(0x80 | (cp >> 12 & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// A JSON array scanner that writes PostgreSQL array syntax; false on input it does not expect.
class JsonArrayConverter {
 public:
  JsonArrayConverter(std::string_view in, std::string* out) : in_(in), out_(out) {}

  bool Run() {
    Blanks();
    if (!Array(0)) return false;
    Blanks();
    return pos_ == in_.size();
  }

 private:
  void Blanks() {
    while (pos_ < in_.size() &&
           (in_[pos_] == ' ' || in_[pos_] == '\n' || in_[pos_] == '\t' || in_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Array(int depth) {
    if (depth > 64 || pos_ >= in_.size() || in_[pos_] != '[') return false;
    ++pos_;
    out_->push_back('{');
    Blanks();
    if (pos_ < in_.size() && in_[pos_] == ']') {
      ++pos_;
      out_->push_back('}');
      return true;
    }
    while (true) {
      Blanks();
      if (!Element(depth)) return false;
      Blanks();
      if (pos_ >= in_.size()) return false;
      char c = in_[pos_++];
      if (c == ']') break;
      if (c != ',') return false;
      out_->push_back(',');
    }
    out_->push_back('}');
    return true;
  }
  bool Element(int depth) {
    if (pos_ >= in_.size()) return false;
    char c = in_[pos_];
    if (c == '[') return Array(depth + 1);
    if (c == '"') {
      std::string s;
      if (!String(&s)) return false;
      AppendArrayElement(s, out_);
      return true;
    }
    if (c == '{') {
      size_t start = pos_;
      if (!SkipObject()) return false;
      AppendArrayElement(in_.substr(start, pos_ - start), out_);
      return true;
    }
    size_t start = pos_;
    while (pos_ < in_.size() && in_[pos_] != ',' && in_[pos_] != ']' && in_[pos_] != ' ') ++pos_;
    std::string_view tok = in_.substr(start, pos_ - start);
    if (tok.empty()) return false;
    if (tok == "null") {
      out_->append("NULL");
    } else if (tok == "true") {
      out_->push_back('t');
    } else if (tok == "false") {
      out_->push_back('f');
    } else {
      AppendArrayElement(tok, out_);
    }
    return true;
  }
  bool String(std::string* s) {
    ++pos_;  // opening quote
    while (pos_ < in_.size()) {
      char c = in_[pos_++];
      if (c == '"') return true;
      if (c != '\\') {
        s->push_back(c);
        continue;
      }
      if (pos_ >= in_.size()) return false;
      char e = in_[pos_++];
      switch (e) {
        case 'b':
          s->push_back('\b');
          break;
        case 'f':
          s->push_back('\f');
          break;
        case 'n':
          s->push_back('\n');
          break;
        case 'r':
          s->push_back('\r');
          break;
        case 't':
          s->push_back('\t');
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00 && pos_ + 1 < in_.size() && in_[pos_] == '\\' &&
              in_[pos_ + 1] == 'u') {
            pos_ += 2;
            uint32_t lo = 0;
            if (!Hex4(&lo)) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          AppendUtf8(cp, s);
          break;
        }
        default:
          s->push_back(e);
      }
    }
    return false;
  }
  bool Hex4(uint32_t* cp) {
    if (in_.size() - pos_ < 4) return false;
    for (int i = 0; i < 4; ++i) {
      int h = HexValue(in_[pos_++]);
      if (h < 0) return false;
      *cp = *cp * 16 + static_cast<uint32_t>(h);
    }
    return true;
  }
  bool SkipObject() {
    int depth = 0;
    bool in_string = false;
    while (pos_ < in_.size()) {
      char c = in_[pos_++];
      if (in_string) {
        if (c == '\\') {
          ++pos_;
        } else if (c == '"') {
          in_string = false;
        }
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) return true;
      }
    }
    return false;
  }

  std::string_view in_;
  size_t pos_ = 0;
  std::string* out_;
};

}  // namespace

int16_t TypeSize(int32_t oid) {
  switch (oid) {
    case 16:
      return 1;
    case 21:
      return 2;
    case 23:
    case 700:
    case 1082:
      return 4;
    case 20:
    case 701:
    case 1083:
    case 1114:
    case 1184:
      return 8;
    case 1266:
      return 12;
    case 1186:
    case 2950:
      return 16;
    default:
      return -1;
  }
}

CellWriter CellWriterFor(int32_t oid) {
  if (IsArrayOid(oid)) return WriteArray;
  switch (oid) {
    case 16:
      return WriteBool;
    case 700:
    case 701:
      return WriteFloat;
    case 17:
      return WriteBytea;
    case 1186:
      return WriteInterval;
    case 1082:
    case 1114:
    case 1184:
      return WriteDateTime;
    default:
      return WriteText;
  }
}

void AppendJsonAsPgArray(std::string_view json, std::string* out) {
  size_t at = out->size();
  if (!JsonArrayConverter(json, out).Run()) {
    out->resize(at);
    out->append(json);
  }
}

void AppendDuckBlobAsPgHex(std::string_view duck_text, std::string* out) {
  out->append("\\x");
  for (size_t i = 0; i < duck_text.size(); ++i) {
    if (duck_text[i] == '\\' && i + 3 < duck_text.size() && duck_text[i + 1] == 'x' &&
        HexValue(duck_text[i + 2]) >= 0 && HexValue(duck_text[i + 3]) >= 0) {
      AppendHexByte(
          static_cast<unsigned char>(HexValue(duck_text[i + 2]) * 16 + HexValue(duck_text[i + 3])),
          out);
      i += 3;
    } else {
      AppendHexByte(static_cast<unsigned char>(duck_text[i]), out);
    }
  }
}

}  // namespace loom::server::pg
