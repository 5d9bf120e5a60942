#include "server/pg_stream.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace loom::server {

SocketStream::SocketStream(int fd) : fd_(fd) {}

SocketStream::~SocketStream() {
  tls_.reset();  // close_notify before the socket closes
  if (fd_ >= 0) ::close(fd_);
}

Status SocketStream::StartTls(const TlsContext& tls) {
  if (tls_ != nullptr) return FailedPrecondition("TLS is already on");
  LOOM_ASSIGN_OR_RETURN(tls_, TlsSession::Accept(tls, fd_));
  return Status::Ok();
}

Status SocketStream::ReadFull(char* buf, size_t n) {
  if (tls_ != nullptr) return tls_->ReadFull(buf, n);
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::recv(fd_, buf + got, n - got, 0);
    if (r > 0) {
      got += static_cast<size_t>(r);
      continue;
    }
    if (r == 0) return Unavailable("the client closed the connection");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return DeadlineExceeded("timed out waiting for the client");
    }
    return Unavailable(std::string("read from the client failed: ") + std::strerror(errno));
  }
  return Status::Ok();
}

Status SocketStream::WriteAll(std::string_view bytes) {
  if (tls_ != nullptr) return tls_->WriteAll(bytes);
  size_t sent = 0;
  while (sent < bytes.size()) {
    // MSG_NOSIGNAL: a client that went away must not kill the server with SIGPIPE.
    ssize_t r = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (r >= 0) {
      sent += static_cast<size_t>(r);
      continue;
    }
    if (errno == EINTR) continue;
    return Unavailable(std::string("write to the client failed: ") + std::strerror(errno));
  }
  return Status::Ok();
}

void SocketStream::SetReadTimeout(uint32_t ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

void SocketStream::Shutdown() { ::shutdown(fd_, SHUT_RDWR); }

}  // namespace loom::server
