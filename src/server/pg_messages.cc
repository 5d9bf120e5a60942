#include "server/pg_messages.h"

#include <cstring>

namespace loom::server::pg {
namespace {

// Reads fields from a message body; the first failure sticks and names the field.
class Reader {
 public:
  Reader(std::string_view body, const char* message) : data_(body), message_(message) {}

  bool ok() const { return error_.empty(); }

  int32_t Int32(const char* field) {
    if (!Need(4, field)) return 0;
    auto u = static_cast<uint32_t>(
        static_cast<uint8_t>(data_[pos_]) << 24 | static_cast<uint8_t>(data_[pos_ + 1]) << 16 |
        static_cast<uint8_t>(data_[pos_ + 2]) << 8 | static_cast<uint8_t>(data_[pos_ + 3]));
    pos_ += 4;
    return static_cast<int32_t>(u);
  }
  int16_t Int16(const char* field) {
    if (!Need(2, field)) return 0;
    auto u = static_cast<uint16_t>(static_cast<uint8_t>(data_[pos_]) << 8 |
                                   static_cast<uint8_t>(data_[pos_ + 1]));
    pos_ += 2;
    return static_cast<int16_t>(u);
  }
  char Byte(const char* field) {
    if (!Need(1, field)) return 0;
    return data_[pos_++];
  }
  std::string CString(const char* field) {
    if (!ok()) return {};
    size_t end = data_.find('\0', pos_);
    if (end == std::string_view::npos) {
      Fail(std::string(field) + ": string without its terminating NUL");
      return {};
    }
    std::string s(data_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  std::string Bytes(size_t n, const char* field) {
    if (!Need(n, field)) return {};
    std::string s(data_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  // A count that must be >= 0 and fit in what is left, `each` bytes at least per item.
  size_t Count(int32_t n, size_t each, const char* field) {
    if (!ok()) return 0;
    if (n < 0) {
      Fail(std::string(field) + ": negative count " + std::to_string(n));
      return 0;
    }
    if (static_cast<size_t>(n) * each > data_.size() - pos_) {
      Fail(std::string(field) + ": count " + std::to_string(n) + " exceeds the message");
      return 0;
    }
    return static_cast<size_t>(n);
  }
  bool AtEnd() const { return pos_ == data_.size(); }

  Status Finish() {
    if (ok() && !AtEnd()) {
      Fail(std::to_string(data_.size() - pos_) + " unexpected trailing bytes");
    }
    if (ok()) return Status::Ok();
    return InvalidArgument(std::string("malformed ") + message_ + " message: " + error_);
  }

 private:
  bool Need(size_t n, const char* field) {
    if (!ok()) return false;
    if (data_.size() - pos_ < n) {
      Fail(std::string(field) + ": message ends early");
      return false;
    }
    return true;
  }
  void Fail(std::string e) {
    if (error_.empty()) error_ = std::move(e);
  }

  std::string_view data_;
  size_t pos_ = 0;
  const char* message_;
  std::string error_;
};

void PutInt32(std::string& buf, size_t at, int32_t v) {
  auto u = static_cast<uint32_t>(v);
  buf[at] = static_cast<char>(u >> 24);
  buf[at + 1] = static_cast<char>(u >> 16);
  buf[at + 2] = static_cast<char>(u >> 8);
  buf[at + 3] = static_cast<char>(u);
}

}  // namespace

Result<StartupPacket> ParseStartupPacket(std::string_view body) {
  Reader r(body, "startup");
  StartupPacket p;
  p.version = r.Int32("protocol version");
  if (!r.ok()) return r.Finish();
  if (p.version == kSslRequestCode || p.version == kGssEncRequestCode) {
    p.kind =
        p.version == kSslRequestCode ? StartupPacket::Kind::kSsl : StartupPacket::Kind::kGssEnc;
    LOOM_RETURN_IF_ERROR(r.Finish());
    return p;
  }
  if (p.version == kCancelRequestCode) {
    p.kind = StartupPacket::Kind::kCancel;
    p.process_id = r.Int32("process id");
    p.secret_key = r.Int32("secret key");
    LOOM_RETURN_IF_ERROR(r.Finish());
    return p;
  }
  if (p.version >> 16 != 3) {
    return Unimplemented("unsupported frontend protocol " + std::to_string(p.version >> 16) + "." +
                         std::to_string(p.version & 0xffff) + ": server supports 3.0");
  }
  // name\0value\0 ... \0
  while (r.ok()) {
    std::string name = r.CString("parameter name");
    if (!r.ok() || name.empty()) break;
    std::string value = r.CString("parameter value");
    p.params.emplace_back(std::move(name), std::move(value));
  }
  LOOM_RETURN_IF_ERROR(r.Finish());
  return p;
}

Result<std::string> ParseQuery(std::string_view body) {
  Reader r(body, "Query");
  std::string q = r.CString("query");
  LOOM_RETURN_IF_ERROR(r.Finish());
  return q;
}

Result<std::string> ParsePassword(std::string_view body) {
  Reader r(body, "PasswordMessage");
  std::string p = r.CString("password");
  LOOM_RETURN_IF_ERROR(r.Finish());
  return p;
}

Result<ParseMessage> ParseParse(std::string_view body) {
  Reader r(body, "Parse");
  ParseMessage m;
  m.name = r.CString("statement name");
  m.query = r.CString("query");
  size_t n = r.Count(r.Int16("parameter type count"), 4, "parameter type count");
  for (size_t i = 0; i < n && r.ok(); ++i) m.param_types.push_back(r.Int32("parameter type"));
  LOOM_RETURN_IF_ERROR(r.Finish());
  return m;
}

Result<BindMessage> ParseBind(std::string_view body) {
  Reader r(body, "Bind");
  BindMessage m;
  m.portal = r.CString("portal name");
  m.statement = r.CString("statement name");
  size_t nf = r.Count(r.Int16("parameter format count"), 2, "parameter format count");
  for (size_t i = 0; i < nf && r.ok(); ++i) m.param_formats.push_back(r.Int16("parameter format"));
  size_t np = r.Count(r.Int16("parameter count"), 4, "parameter count");
  for (size_t i = 0; i < np && r.ok(); ++i) {
    int32_t len = r.Int32("parameter length");
    if (len == -1) {
      m.params.emplace_back(std::nullopt);
    } else {
      size_t n = r.Count(len, 1, "parameter length");
      m.params.emplace_back(r.Bytes(n, "parameter value"));
    }
  }
  size_t nr = r.Count(r.Int16("result format count"), 2, "result format count");
  for (size_t i = 0; i < nr && r.ok(); ++i) m.result_formats.push_back(r.Int16("result format"));
  LOOM_RETURN_IF_ERROR(r.Finish());
  return m;
}

Result<TargetMessage> ParseTarget(char type, std::string_view body) {
  Reader r(body, type == 'D' ? "Describe" : "Close");
  TargetMessage m;
  m.kind = r.Byte("kind");
  m.name = r.CString("name");
  LOOM_RETURN_IF_ERROR(r.Finish());
  if (m.kind != 'S' && m.kind != 'P') {
    return InvalidArgument(std::string("malformed ") + (type == 'D' ? "Describe" : "Close") +
                           " message: kind must be 'S' or 'P'");
  }
  return m;
}

Result<ExecuteMessage> ParseExecute(std::string_view body) {
  Reader r(body, "Execute");
  ExecuteMessage m;
  m.portal = r.CString("portal name");
  m.max_rows = r.Int32("row limit");
  LOOM_RETURN_IF_ERROR(r.Finish());
  return m;
}

void FuzzFrontendMessage(std::string_view data) {
  (void)ParseStartupPacket(data);
  if (data.empty()) return;
  char type = data[0];
  std::string_view body = data.substr(1);
  (void)ParseQuery(body);
  (void)ParsePassword(body);
  (void)ParseParse(body);
  (void)ParseBind(body);
  (void)ParseTarget(type, body);
  (void)ParseExecute(body);
}

void MessageWriter::Begin(char type) {
  start_ = buf_.size();
  buf_.push_back(type);
  buf_.append(4, '\0');
}

void MessageWriter::End() {
  PutInt32(buf_, start_ + 1, static_cast<int32_t>(buf_.size() - start_ - 1));
}

void MessageWriter::Int16(int16_t v) {
  auto u = static_cast<uint16_t>(v);
  buf_.push_back(static_cast<char>(u >> 8));
  buf_.push_back(static_cast<char>(u));
}

void MessageWriter::Int32(int32_t v) {
  size_t at = buf_.size();
  buf_.append(4, '\0');
  PutInt32(buf_, at, v);
}

void MessageWriter::PatchInt32(size_t at, int32_t v) { PutInt32(buf_, at, v); }

void MessageWriter::CString(std::string_view s) {
  size_t nul = s.find('\0');
  buf_.append(nul == std::string_view::npos ? s : s.substr(0, nul));
  buf_.push_back('\0');
}

void MessageWriter::Simple(char type) {
  Begin(type);
  End();
}

void MessageWriter::AuthenticationOk() {
  Begin('R');
  Int32(0);
  End();
}

void MessageWriter::AuthenticationCleartextPassword() {
  Begin('R');
  Int32(3);
  End();
}

void MessageWriter::ParameterStatus(std::string_view name, std::string_view value) {
  Begin('S');
  CString(name);
  CString(value);
  End();
}

void MessageWriter::BackendKeyData(int32_t process_id, int32_t secret_key) {
  Begin('K');
  Int32(process_id);
  Int32(secret_key);
  End();
}

void MessageWriter::ReadyForQuery(char status) {
  Begin('Z');
  Byte(status);
  End();
}

void MessageWriter::ErrorFields(char type, const PgError& e) {
  Begin(type);
  Byte('S');
  CString(e.severity);
  Byte('V');
  CString(e.severity);
  Byte('C');
  CString(e.sqlstate);
  Byte('M');
  CString(e.message);
  if (!e.detail.empty()) {
    Byte('D');
    CString(e.detail);
  }
  if (!e.hint.empty()) {
    Byte('H');
    CString(e.hint);
  }
  Byte('\0');
  End();
}

void MessageWriter::Error(const PgError& e) { ErrorFields('E', e); }
void MessageWriter::Notice(const PgError& e) { ErrorFields('N', e); }

void MessageWriter::RowDescription(const std::vector<FieldDescription>& fields) {
  Begin('T');
  Int16(static_cast<int16_t>(fields.size()));
  for (const FieldDescription& f : fields) {
    CString(f.name);
    Int32(0);  // table OID: none
    Int16(0);  // column number: none
    Int32(f.type_oid);
    Int16(f.type_size);
    Int32(-1);  // type modifier
    Int16(0);   // text format
  }
  End();
}

void MessageWriter::ParameterDescription(const std::vector<int32_t>& oids) {
  Begin('t');
  Int16(static_cast<int16_t>(oids.size()));
  for (int32_t oid : oids) Int32(oid);
  End();
}

void MessageWriter::CommandComplete(std::string_view tag) {
  Begin('C');
  CString(tag);
  End();
}

}  // namespace loom::server::pg
