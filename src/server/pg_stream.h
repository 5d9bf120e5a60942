#pragma once

// server/-internal: the byte stream under a PostgreSQL wire connection. The protocol code reads
// and writes through PgStream only; after an SSLRequest answered 'S', StartTls makes the same
// stream encrypted (server/pg_tls.h).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/status.h"
#include "server/pg_tls.h"

namespace loom::server {

// A bidirectional byte stream. Read/Write are used by one thread (the connection's); Shutdown()
// may be called from any thread to make a blocked Read or Write return.
class PgStream {
 public:
  virtual ~PgStream() = default;
  // Reads exactly n bytes. kUnavailable on end of stream or a socket error (the message says
  // which), kDeadlineExceeded when a read timeout is set and expires.
  virtual Status ReadFull(char* buf, size_t n) = 0;
  // Writes all bytes. kUnavailable when the peer is gone.
  virtual Status WriteAll(std::string_view bytes) = 0;
  // 0 = none. Applies to later reads.
  virtual void SetReadTimeout(uint32_t ms) = 0;
  // Ends both directions; thread-safe, idempotent.
  virtual void Shutdown() = 0;
  // Runs the server side of a TLS handshake; later reads and writes are encrypted. Only
  // SocketStream supports it (others: kUnimplemented).
  virtual Status StartTls(const TlsContext& /*tls*/) {
    return Unimplemented("this stream does not support TLS");
  }
};

// A connected TCP socket. Owns the file descriptor (closed on destruction).
class SocketStream final : public PgStream {
 public:
  explicit SocketStream(int fd);
  ~SocketStream() override;
  SocketStream(const SocketStream&) = delete;
  SocketStream& operator=(const SocketStream&) = delete;

  Status ReadFull(char* buf, size_t n) override;
  Status WriteAll(std::string_view bytes) override;
  void SetReadTimeout(uint32_t ms) override;
  void Shutdown() override;
  Status StartTls(const TlsContext& tls) override;

 private:
  int fd_;
  std::unique_ptr<TlsSession> tls_;  // after StartTls; the connection's thread only
};

}  // namespace loom::server
