#include "server/pg_tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace loom::server {
namespace {

// The reasons OpenSSL queued for this thread, oldest first; clears the queue.
std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

}  // namespace

struct TlsContext::Impl {
  SSL_CTX* ctx = nullptr;
  ~Impl() { SSL_CTX_free(ctx); }
};

TlsContext::TlsContext(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsContext::~TlsContext() = default;

Result<std::shared_ptr<TlsContext>> TlsContext::Load(const std::string& cert_file,
                                                     const std::string& key_file) {
  if (cert_file.empty() || key_file.empty()) {
    return InvalidArgument("TLS needs both a certificate file and a key file");
  }
  // A client that vanishes mid-write must not kill the server: OpenSSL writes with write(2),
  // which raises SIGPIPE (the plaintext path uses send(MSG_NOSIGNAL)).
  std::signal(SIGPIPE, SIG_IGN);
  auto impl = std::make_unique<Impl>();
  ERR_clear_error();
  impl->ctx = SSL_CTX_new(TLS_server_method());
  if (impl->ctx == nullptr) return Internal("SSL_CTX_new: " + OpenSslErrors());
  SSL_CTX_set_min_proto_version(impl->ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(impl->ctx, SSL_MODE_AUTO_RETRY);
  if (SSL_CTX_use_certificate_chain_file(impl->ctx, cert_file.c_str()) != 1) {
    return InvalidArgument("TLS certificate file '" + cert_file + "': " + OpenSslErrors());
  }
  if (SSL_CTX_use_PrivateKey_file(impl->ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return InvalidArgument("TLS key file '" + key_file + "': " + OpenSslErrors());
  }
  if (SSL_CTX_check_private_key(impl->ctx) != 1) {
    return InvalidArgument("TLS key file '" + key_file + "' does not match the certificate '" +
                           cert_file + "'");
  }
  return std::shared_ptr<TlsContext>(new TlsContext(std::move(impl)));
}

struct TlsSession::Impl {
  SSL* ssl = nullptr;
  ~Impl() {
    if (ssl != nullptr) {
      SSL_shutdown(ssl);
      SSL_free(ssl);
    }
  }
  // After a failed SSL_read_ex/SSL_write_ex: OK to retry, or the error to return.
  Status Failure(const char* what) {
    const int saved_errno = errno;
    int err = SSL_get_error(ssl, 0);
    if (err == SSL_ERROR_ZERO_RETURN) return Unavailable("the client closed the connection");
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_SYSCALL) {
      ERR_clear_error();
      if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK) {
        return DeadlineExceeded("timed out waiting for the client");
      }
      if (err != SSL_ERROR_SYSCALL) return Status::Ok();
      return Unavailable(std::string(what) + " the client failed: " +
                         (saved_errno != 0 ? std::strerror(saved_errno) : "connection closed"));
    }
    return Unavailable(std::string("TLS ") + what + " the client failed: " + OpenSslErrors());
  }
};

TlsSession::TlsSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsSession::~TlsSession() = default;

Result<std::unique_ptr<TlsSession>> TlsSession::Accept(const TlsContext& context, int fd) {
  ERR_clear_error();
  auto impl = std::make_unique<Impl>();
  impl->ssl = SSL_new(context.impl().ctx);
  if (impl->ssl == nullptr) return Internal("SSL_new: " + OpenSslErrors());
  if (SSL_set_fd(impl->ssl, fd) != 1) return Internal("SSL_set_fd: " + OpenSslErrors());
  if (SSL_accept(impl->ssl) != 1) {
    Status s = Unavailable("TLS handshake with the client failed: " + OpenSslErrors());
    SSL_free(impl->ssl);  // no close_notify after a failed handshake
    impl->ssl = nullptr;
    return s;
  }
  return std::unique_ptr<TlsSession>(new TlsSession(std::move(impl)));
}

Status TlsSession::ReadFull(char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    size_t r = 0;
    if (SSL_read_ex(impl_->ssl, buf + got, n - got, &r) == 1) {
      got += r;
      continue;
    }
    LOOM_RETURN_IF_ERROR(impl_->Failure("read from"));
  }
  return Status::Ok();
}

Status TlsSession::WriteAll(std::string_view bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    size_t w = 0;
    if (SSL_write_ex(impl_->ssl, bytes.data() + sent, bytes.size() - sent, &w) == 1) {
      sent += w;
      continue;
    }
    LOOM_RETURN_IF_ERROR(impl_->Failure("write to"));
  }
  return Status::Ok();
}

}  // namespace loom::server
