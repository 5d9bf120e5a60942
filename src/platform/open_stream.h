#pragma once

// platform/-internal: an open stream port (its log, the lock that keeps it to one process, and
// its SQL tier), shared by streams.cc and the pipelines that read stream inputs.

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <memory>
#include <mutex>
#include <string>

#include "platform/platform.h"

namespace loom::platform {

// One process at a time may open a stream port's log: the lock file says who has it.
class PortLock {
 public:
  static Result<std::unique_ptr<PortLock>> Acquire(const std::string& dir,
                                                   const std::string& name) {
    std::string path = JoinPath(dir, "LOCK");
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Internal("cannot open '" + path + "'");
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return Unavailable("stream port " + name +
                         " is open in another loom process (is `loom serve` running on this "
                         "data folder? then use --server)");
    }
    return std::unique_ptr<PortLock>(new PortLock(fd));
  }
  ~PortLock() { ::close(fd_); }
  PortLock(const PortLock&) = delete;
  PortLock& operator=(const PortLock&) = delete;

 private:
  explicit PortLock(int fd) : fd_(fd) {}
  int fd_;
};

struct Platform::OpenStream {
  std::string descriptor_version;
  spec::Schema schema;
  // Confidential and restricted products: what the port's logs and SQL tier seal with (declared
  // before them, so that it outlives them).
  std::unique_ptr<security::Cipher> cipher;
  std::unique_ptr<PortLock> lock;
  std::unique_ptr<ingest::StreamPort> port;
  std::mutex tier_mu;
  std::unique_ptr<engine::StreamTier> tier;  // guarded by tier_mu; opened on first query

  ~OpenStream() {
    if (port) (void)port->Close();
  }
};

}  // namespace loom::platform
