#include "testing/testing.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace loom::testing {

TempDir::TempDir() {
  const char* base = std::getenv("LOOM_TEST_TMP");
  std::string root = base && *base ? base : "/tmp";
  std::filesystem::create_directories(root);
  std::string templ = root + "/loom-test-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string SourceDir() { return LOOM_SOURCE_DIR; }
std::string LoomBinary() { return LOOM_BINARY; }

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_text) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe(in_pipe) || pipe(out_pipe) || pipe(err_pipe)) throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
      close(fd);
    }
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  CommandResult r;
  size_t written = 0;
  if (stdin_text.empty()) {
    close(in_pipe[1]);
    in_pipe[1] = -1;
  } else {
    fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
  }
  bool out_open = true, err_open = true;
  char buf[65536];
  while (out_open || err_open) {
    struct pollfd fds[3];
    int n = 0;
    int out_i = -1, err_i = -1, in_i = -1;
    if (out_open) {
      fds[n] = {out_pipe[0], POLLIN, 0};
      out_i = n++;
    }
    if (err_open) {
      fds[n] = {err_pipe[0], POLLIN, 0};
      err_i = n++;
    }
    if (in_pipe[1] >= 0) {
      fds[n] = {in_pipe[1], POLLOUT, 0};
      in_i = n++;
    }
    poll(fds, static_cast<nfds_t>(n), -1);
    if (in_i >= 0 && (fds[in_i].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = write(in_pipe[1], stdin_text.data() + written, stdin_text.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if (w < 0 || written == stdin_text.size()) {
        close(in_pipe[1]);
        in_pipe[1] = -1;
      }
    }
    if (out_i >= 0 && (fds[out_i].revents & (POLLIN | POLLHUP))) {
      ssize_t k = read(out_pipe[0], buf, sizeof buf);
      if (k <= 0)
        out_open = false;
      else
        r.out.append(buf, static_cast<size_t>(k));
    }
    if (err_i >= 0 && (fds[err_i].revents & (POLLIN | POLLHUP))) {
      ssize_t k = read(err_pipe[0], buf, sizeof buf);
      if (k <= 0)
        err_open = false;
      else
        r.err.append(buf, static_cast<size_t>(k));
    }
  }
  if (in_pipe[1] >= 0) close(in_pipe[1]);
  close(out_pipe[0]);
  close(err_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

void WriteFile(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f << content;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

std::string AesCmac(const std::string& key, const std::string& data) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "CMAC", nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  char cipher[] = "AES-128-CBC";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0),
                         OSSL_PARAM_construct_end()};
  unsigned char out[16];
  size_t n = 0;
  const bool ok =
      EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) ==
          1 &&
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1 &&
      EVP_MAC_final(ctx, out, &n, sizeof out) == 1;
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  EXPECT_TRUE(ok && n == 16);
  return std::string(reinterpret_cast<char*>(out), n);
}

uint64_t Speck64(uint64_t key_high, uint64_t key_low, uint64_t block) {
  auto ror = [](uint32_t x, int r) { return (x >> r) | (x << (32 - r)); };
  auto rol = [](uint32_t x, int r) { return (x << r) | (x >> (32 - r)); };
  // The key words l0, l1, l2 in a ring of three, and k0; the schedule runs alongside the rounds.
  uint32_t l[3] = {static_cast<uint32_t>(key_low >> 32), static_cast<uint32_t>(key_high),
                   static_cast<uint32_t>(key_high >> 32)};
  uint32_t k = static_cast<uint32_t>(key_low);
  uint32_t x = static_cast<uint32_t>(block >> 32);
  uint32_t y = static_cast<uint32_t>(block);
  for (uint32_t i = 0; i < 27; ++i) {
    x = (ror(x, 8) + y) ^ k;
    y = rol(y, 3) ^ x;
    l[i % 3] = (k + ror(l[i % 3], 8)) ^ i;
    k = rol(k, 3) ^ l[i % 3];
  }
  return (uint64_t{x} << 32) | y;
}

uint32_t Speck32(const std::array<uint16_t, 22>& round_keys, uint32_t block) {
  auto ror = [](uint16_t x, int r) { return static_cast<uint16_t>((x >> r) | (x << (16 - r))); };
  auto rol = [](uint16_t x, int r) { return static_cast<uint16_t>((x << r) | (x >> (16 - r))); };
  auto x = static_cast<uint16_t>(block >> 16);
  auto y = static_cast<uint16_t>(block);
  for (uint16_t k : round_keys) {
    x = static_cast<uint16_t>(static_cast<uint16_t>(ror(x, 7) + y) ^ k);
    y = static_cast<uint16_t>(rol(y, 2) ^ x);
  }
  return (uint32_t{x} << 16) | y;
}

std::array<uint16_t, 22> Speck32RoundKeys(uint64_t key_high, uint64_t key_low) {
  std::string key;
  for (uint64_t word : {key_high, key_low}) {
    for (int shift = 56; shift >= 0; shift -= 8) key += static_cast<char>(word >> shift);
  }
  std::string material;
  for (const char* label : {"loom-speck32-1", "loom-speck32-2"}) {
    unsigned char out[32];
    unsigned int size = 0;
    EXPECT_NE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                   reinterpret_cast<const unsigned char*>(label), std::strlen(label), out, &size),
              nullptr);
    material.append(reinterpret_cast<const char*>(out), size);
  }
  std::array<uint16_t, 22> round_keys{};
  for (size_t i = 0; i < round_keys.size(); ++i) {
    round_keys[i] = static_cast<uint16_t>((static_cast<unsigned char>(material[2 * i]) << 8) |
                                          static_cast<unsigned char>(material[2 * i + 1]));
  }
  return round_keys;
}

int64_t KeyedPermute(uint64_t key_high, uint64_t key_low, int64_t value) {
  auto fits = [](int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; };
  if (fits(value)) {
    return static_cast<int32_t>(
        Speck32(Speck32RoundKeys(key_high, key_low), static_cast<uint32_t>(value)));
  }
  auto c = static_cast<int64_t>(Speck64(key_high, key_low, static_cast<uint64_t>(value)));
  while (fits(c)) c = static_cast<int64_t>(Speck64(key_high, key_low, static_cast<uint64_t>(c)));
  return c;
}

}  // namespace loom::testing
