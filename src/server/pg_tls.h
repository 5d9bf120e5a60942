#pragma once

// server/-internal: TLS on the PostgreSQL port (OpenSSL). A client asks with an SSLRequest; the
// listener answers 'S' and runs the server side of the handshake, then the protocol continues
// through the same SocketStream, now encrypted. docs/postgres.md ("TLS") is the user guide.

#include <memory>
#include <string>

#include <string_view>
#include "core/status.h"

namespace loom::server {

// A server certificate (chain) and its private key, loaded once. Immutable after Load;
// thread-safe (an SSL_CTX is safe to share once configured).
class TlsContext {
 public:
  // Loads PEM files. kInvalidArgument naming the file and OpenSSL's reason when a file is
  // missing or unreadable, or the key does not match the certificate. Minimum protocol TLS 1.2.
  static Result<std::shared_ptr<TlsContext>> Load(const std::string& cert_file,
                                                  const std::string& key_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit TlsContext(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One TLS connection over a socket the caller keeps owning. Not thread-safe: the connection's
// thread only (a shutdown(2) of the socket from elsewhere ends a blocked read).
class TlsSession {
 public:
  // Runs the server side of the handshake on `fd`. kUnavailable when it fails (the reason says
  // why, e.g. the client does not trust the certificate).
  static Result<std::unique_ptr<TlsSession>> Accept(const TlsContext& context, int fd);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // As PgStream's: kUnavailable when the peer is gone, kDeadlineExceeded on a read timeout.
  Status ReadFull(char* buf, size_t n);
  Status WriteAll(std::string_view bytes);

  struct Impl;

 private:
  explicit TlsSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace loom::server
