#pragma once

// server/-internal: the PostgreSQL v3 wire format (https://www.postgresql.org/docs/15/
// protocol-message-formats.html). Parsers of frontend messages never trust a length or a count:
// every read is bounds-checked and a malformed body is kInvalidArgument naming the message and
// the field. Builders append backend messages to a buffer that the connection flushes.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "engine/engine.h"

namespace loom::server::pg {

inline constexpr int32_t kProtocolV3 = 196608;  // 3.0
inline constexpr int32_t kCancelRequestCode = 80877102;
inline constexpr int32_t kSslRequestCode = 80877103;
inline constexpr int32_t kGssEncRequestCode = 80877104;
inline constexpr uint32_t kMaxStartupPacket = 10000;  // as PostgreSQL

// The first packet of a connection (it has no type byte).
struct StartupPacket {
  enum class Kind { kStartup, kSsl, kGssEnc, kCancel };
  Kind kind = Kind::kStartup;
  int32_t version = 0;
  std::vector<std::pair<std::string, std::string>> params;  // kStartup
  int32_t process_id = 0;                                   // kCancel
  int32_t secret_key = 0;                                   // kCancel
};
// `body` is the packet after its 4-byte length.
Result<StartupPacket> ParseStartupPacket(std::string_view body);

struct ParseMessage {  // 'P'
  std::string name;
  std::string query;
  std::vector<int32_t> param_types;
};
struct BindMessage {  // 'B'
  std::string portal;
  std::string statement;
  std::vector<int16_t> param_formats;
  std::vector<std::optional<std::string>> params;  // nullopt = NULL
  std::vector<int16_t> result_formats;
};
struct TargetMessage {  // 'D' Describe and 'C' Close: 'S' statement or 'P' portal
  char kind = 'S';
  std::string name;
};
struct ExecuteMessage {  // 'E'
  std::string portal;
  int32_t max_rows = 0;  // 0 = all
};

Result<std::string> ParseQuery(std::string_view body);  // 'Q'
Result<ParseMessage> ParseParse(std::string_view body);
Result<BindMessage> ParseBind(std::string_view body);
Result<TargetMessage> ParseTarget(char type, std::string_view body);
Result<ExecuteMessage> ParseExecute(std::string_view body);
Result<std::string> ParsePassword(std::string_view body);  // 'p'

// Runs every parser over one message (first byte: type, rest: body) and the startup parser over
// the whole input. For libFuzzer targets (tests/fuzz): must never crash, leak or hang.
void FuzzFrontendMessage(std::string_view data);

// An error or notice as the client sees it.
struct PgError {
  std::string severity = "ERROR";  // ERROR or FATAL
  std::string sqlstate = "XX000";
  std::string message;
  std::string detail;
  std::string hint;
};

// One column of a RowDescription.
struct FieldDescription {
  std::string name;
  int32_t type_oid = 25;
  int16_t type_size = -1;
};

// Appends backend messages to a byte buffer. Not thread-safe.
class MessageWriter {
 public:
  std::string& buffer() { return buf_; }
  size_t size() const { return buf_.size(); }
  void Clear() { buf_.clear(); }

  // A message by hand: Begin(type), fields, End().
  void Begin(char type);
  void End();
  void Int16(int16_t v);
  void Int32(int32_t v);
  void Byte(char c) { buf_.push_back(c); }
  void CString(std::string_view s);  // NULs inside are cut: the protocol cannot carry them
  void Bytes(std::string_view s) { buf_.append(s); }
  // For a length written before its bytes: Int32(0) at `at`, then PatchInt32(at, n).
  void PatchInt32(size_t at, int32_t v);

  void AuthenticationOk();
  void AuthenticationCleartextPassword();
  void ParameterStatus(std::string_view name, std::string_view value);
  void BackendKeyData(int32_t process_id, int32_t secret_key);
  void ReadyForQuery(char status = 'I');
  void Error(const PgError& e);
  void Notice(const PgError& e);
  void RowDescription(const std::vector<FieldDescription>& fields);
  void ParameterDescription(const std::vector<int32_t>& oids);
  void CommandComplete(std::string_view tag);
  void EmptyQueryResponse() { Simple('I'); }
  void NoData() { Simple('n'); }
  void ParseComplete() { Simple('1'); }
  void BindComplete() { Simple('2'); }
  void CloseComplete() { Simple('3'); }
  void PortalSuspended() { Simple('s'); }

 private:
  void Simple(char type);
  void ErrorFields(char type, const PgError& e);

  std::string buf_;
  size_t start_ = 0;  // of the message being built
};

}  // namespace loom::server::pg
