// Envelope encryption: a master key wraps per-product data keys (AES-256-GCM); data is sealed
// with the data keys. Formats: docs/internals/security.md ("Keys and ciphertext").

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <utility>

#include "security/crypto.h"
#include "security/security.h"
#include "security/sqlite_db.h"

namespace loom::security {
namespace {

constexpr char kVersion = 0x01;
constexpr size_t kNonce = 12;
constexpr std::string_view kMaskKeyName = "mask";
constexpr std::string_view kCheckText = "loom master key check v1";

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS master(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  fingerprint TEXT NOT NULL,
  check_value TEXT NOT NULL,
  changed_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS data_keys(
  name TEXT PRIMARY KEY,
  wrapped TEXT NOT NULL,
  created_at INTEGER NOT NULL);
)sql";

std::string WrapAad(std::string_view name) { return "loom-data-key:" + std::string(name); }

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

}  // namespace

// ---- MasterKey

Result<MasterKey> MasterKey::FromHex(std::string_view hex) {
  std::string text = Trim(hex);
  std::optional<std::string> bytes = internal::Unhex(text);
  internal::Wipe(text);
  if (!bytes || bytes->size() != 32) {
    if (bytes) internal::Wipe(*bytes);
    return InvalidArgument("a master key is 64 hex digits (32 bytes)");
  }
  MasterKey key;
  key.bytes_ = std::move(*bytes);
  return key;
}

Result<MasterKey> MasterKey::FromFile(const std::string& path) {
  Result<std::string> text = ReadFileToString(*FileSystem::Default(), path);
  if (!text.ok()) return text.status().WithPrefix("master key file '" + path + "'");
  Result<MasterKey> key = FromHex(*text);
  internal::Wipe(*text);
  if (!key.ok()) return key.status().WithPrefix("master key file '" + path + "'");
  return key;
}

Result<MasterKey> MasterKey::Load(const std::string& key_file) {
  if (!key_file.empty()) return FromFile(key_file);
  const char* env = std::getenv("LOOM_MASTER_KEY");
  if (env != nullptr && *env != '\0') {
    Result<MasterKey> key = FromHex(env);
    if (!key.ok()) return key.status().WithPrefix("LOOM_MASTER_KEY");
    return key;
  }
  return FailedPrecondition(
      "no master key: set LOOM_MASTER_KEY to 64 hex digits or give a master key file "
      "(`loom keys generate` makes one); confidential and restricted products cannot be read or "
      "written without it");
}

MasterKey MasterKey::Generate() {
  MasterKey key;
  key.bytes_ = internal::RandomBytes(32);
  return key;
}

Result<MasterKey> MasterKey::CreateFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return AlreadyExists("master key file '" + path +
                           "' already exists; it is not overwritten (a lost key loses the data "
                           "it protects)");
    }
    return Internal("cannot create master key file '" + path + "': " + std::strerror(errno));
  }
  MasterKey key = Generate();
  std::string text = key.Hex() + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  internal::Wipe(text);
  ok = ::close(fd) == 0 && ok;
  if (!ok) {
    ::unlink(path.c_str());
    return Internal("cannot write master key file '" + path + "'");
  }
  return key;
}

MasterKey::~MasterKey() { internal::Wipe(bytes_); }

std::string MasterKey::Hex() const { return internal::Hex(bytes_); }

std::string MasterKey::Fingerprint() const {
  return internal::Hex(internal::Sha256("loom-master-key" + bytes_)).substr(0, 16);
}

// ---- Cipher

Result<Cipher> Cipher::FromKey(std::string key) {
  if (key.size() != 32) {
    internal::Wipe(key);
    return InvalidArgument("an AES-256 key is 32 bytes");
  }
  return Cipher(std::move(key));
}

Cipher::~Cipher() { internal::Wipe(key_); }

Result<std::string> Cipher::Encrypt(std::string_view plaintext, std::string_view aad) const {
  const std::string nonce = internal::RandomBytes(kNonce);
  LOOM_ASSIGN_OR_RETURN(std::string sealed, internal::AesGcmSeal(key_, nonce, plaintext, aad));
  std::string out;
  out.reserve(1 + kNonce + sealed.size());
  out.push_back(kVersion);
  out += nonce;
  out += sealed;
  return out;
}

Result<std::string> Cipher::Decrypt(std::string_view ciphertext, std::string_view aad) const {
  if (ciphertext.size() < kOverhead) {
    return DataLoss("encrypted data is truncated (" + std::to_string(ciphertext.size()) +
                    " bytes, at least " + std::to_string(kOverhead) + " expected)");
  }
  if (ciphertext[0] != kVersion) {
    return DataLoss("encrypted data has unknown format version " +
                    std::to_string(static_cast<unsigned char>(ciphertext[0])));
  }
  Result<std::string> plain =
      internal::AesGcmOpen(key_, ciphertext.substr(1, kNonce), ciphertext.substr(1 + kNonce), aad);
  if (!plain.ok() && plain.status().code() == StatusCode::kDataLoss) {
    return DataLoss(
        "decryption failed: wrong key, or the data or its context was altered (AES-256-GCM "
        "authentication failed)");
  }
  return plain;
}

std::string Cipher::DeriveKey(std::string_view purpose) const {
  return internal::HmacSha256(key_, "loom-derive:" + std::string(purpose));
}

bool RequiresEncryption(spec::Classification c) {
  return c == spec::Classification::kConfidential || c == spec::Classification::kRestricted;
}

// ---- KeyStore

struct KeyStore::Impl {
  std::mutex mu;
  Db db;             // guarded by mu
  MasterKey master;  // guarded by mu
  Clock* clock = nullptr;

  explicit Impl(MasterKey m) : master(std::move(m)) {}

  Result<std::string> Wrap(const MasterKey& key, std::string_view name, std::string_view dk) {
    LOOM_ASSIGN_OR_RETURN(Cipher c, Cipher::FromKey(key.bytes()));
    LOOM_ASSIGN_OR_RETURN(std::string w, c.Encrypt(dk, WrapAad(name)));
    return internal::Hex(w);
  }
  Result<std::string> Unwrap(const MasterKey& key, std::string_view name, std::string_view hex) {
    std::optional<std::string> w = internal::Unhex(hex);
    if (!w) return DataLoss("wrapped data key of '" + std::string(name) + "' is not hex");
    LOOM_ASSIGN_OR_RETURN(Cipher c, Cipher::FromKey(key.bytes()));
    Result<std::string> dk = c.Decrypt(*w, WrapAad(name));
    if (!dk.ok()) {
      return DataLoss("data key of '" + std::string(name) +
                      "' does not unwrap with the master key (altered key store?)");
    }
    return dk;
  }
  // The raw data key `name`, created when missing and `create`.
  Result<std::string> DataKey(std::string_view name, bool create);
};

KeyStore::KeyStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KeyStore::~KeyStore() = default;

Result<std::unique_ptr<KeyStore>> KeyStore::Open(const KeyStoreOptions& options, MasterKey master) {
  auto impl = std::make_unique<Impl>(std::move(master));
  impl->clock = options.clock != nullptr ? options.clock : Clock::Real();
  LOOM_ASSIGN_OR_RETURN(impl->db, Db::OpenDurable(options.path));
  LOOM_RETURN_IF_ERROR(impl->db.Exec(kSchema));
  LOOM_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(impl->db, /*immediate=*/true));
  LOOM_ASSIGN_OR_RETURN(Stmt st, impl->db.Prepare("SELECT fingerprint, check_value FROM master"));
  LOOM_ASSIGN_OR_RETURN(bool row, st.Step());
  const std::string fingerprint = impl->master.Fingerprint();
  if (row) {
    if (st.Text(0) != fingerprint) {
      return PermissionDenied("master key (fingerprint " + fingerprint +
                              ") is not the key of this key store (fingerprint " + st.Text(0) +
                              "): encrypted data stays closed");
    }
    LOOM_RETURN_IF_ERROR(impl->Unwrap(impl->master, kCheckText, st.Text(1)).status());
  } else {
    LOOM_ASSIGN_OR_RETURN(std::string check, impl->Wrap(impl->master, kCheckText, kCheckText));
    LOOM_ASSIGN_OR_RETURN(Stmt ins, impl->db.Prepare("INSERT INTO master(id, fingerprint, "
                                                     "check_value, changed_at) VALUES(1,?,?,?)"));
    ins.Bind(1, fingerprint).Bind(2, check).Bind(3, int64_t{impl->clock->NowMicros()});
    LOOM_RETURN_IF_ERROR(ins.Run());
  }
  LOOM_RETURN_IF_ERROR(tx.Commit());
  return std::unique_ptr<KeyStore>(new KeyStore(std::move(impl)));
}

Result<std::string> KeyStore::Impl::DataKey(std::string_view name, bool create) {
  // Another process may have rotated the master key (`loom keys rotate` next to a running
  // server): then this process's key must neither unwrap nor wrap anything any more.
  LOOM_ASSIGN_OR_RETURN(Stmt fp, db.Prepare("SELECT fingerprint FROM master"));
  LOOM_ASSIGN_OR_RETURN(bool has_master, fp.Step());
  if (has_master && fp.Text(0) != master.Fingerprint()) {
    return FailedPrecondition("the master key of this key store was rotated (now fingerprint " +
                              fp.Text(0) + ") since this process opened it with fingerprint " +
                              master.Fingerprint() + ": restart with the new key");
  }
  LOOM_ASSIGN_OR_RETURN(Stmt sel, db.Prepare("SELECT wrapped FROM data_keys WHERE name = ?"));
  sel.Bind(1, name);
  LOOM_ASSIGN_OR_RETURN(bool row, sel.Step());
  if (!row) {
    if (!create) return NotFound("no data key for '" + std::string(name) + "'");
    std::string dk = internal::RandomBytes(32);
    LOOM_ASSIGN_OR_RETURN(std::string wrapped, Wrap(master, name, dk));
    internal::Wipe(dk);
    // OR IGNORE: another process may have created it first; both then read the stored one.
    LOOM_ASSIGN_OR_RETURN(Stmt ins, db.Prepare("INSERT OR IGNORE INTO data_keys(name, wrapped, "
                                               "created_at) VALUES(?,?,?)"));
    ins.Bind(1, name).Bind(2, wrapped).Bind(3, int64_t{clock->NowMicros()});
    LOOM_RETURN_IF_ERROR(ins.Run());
    sel.Reset();
    sel.Bind(1, name);
    LOOM_ASSIGN_OR_RETURN(row, sel.Step());
    if (!row) return Internal("data key of '" + std::string(name) + "' vanished");
  }
  return Unwrap(master, name, sel.Text(0));
}

Result<Cipher> KeyStore::CipherFor(const Address& product, bool create) {
  const std::string name = Address{product.domain, product.product, "", std::nullopt}.ToString();
  std::lock_guard lock(impl_->mu);
  LOOM_ASSIGN_OR_RETURN(std::string dk, impl_->DataKey(name, create));
  return Cipher::FromKey(std::move(dk));
}

Result<MaskKey> KeyStore::GetMaskKey() {
  std::lock_guard lock(impl_->mu);
  LOOM_ASSIGN_OR_RETURN(std::string dk, impl_->DataKey(kMaskKeyName, /*create=*/true));
  MaskKey key{internal::Hex(dk)};
  internal::Wipe(dk);
  return key;
}

Result<int> KeyStore::Rotate(const MasterKey& next) {
  std::lock_guard lock(impl_->mu);
  LOOM_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(impl_->db, /*immediate=*/true));
  LOOM_ASSIGN_OR_RETURN(Stmt sel, impl_->db.Prepare("SELECT name, wrapped FROM data_keys"));
  std::vector<std::pair<std::string, std::string>> rewrapped;
  while (true) {
    LOOM_ASSIGN_OR_RETURN(bool row, sel.Step());
    if (!row) break;
    const std::string name = sel.Text(0);
    LOOM_ASSIGN_OR_RETURN(std::string dk, impl_->Unwrap(impl_->master, name, sel.Text(1)));
    LOOM_ASSIGN_OR_RETURN(std::string w, impl_->Wrap(next, name, dk));
    internal::Wipe(dk);
    rewrapped.emplace_back(name, std::move(w));
  }
  LOOM_ASSIGN_OR_RETURN(Stmt upd,
                        impl_->db.Prepare("UPDATE data_keys SET wrapped = ? WHERE name = ?"));
  for (const auto& [name, wrapped] : rewrapped) {
    upd.Reset();
    upd.Bind(1, wrapped).Bind(2, name);
    LOOM_RETURN_IF_ERROR(upd.Run());
  }
  LOOM_ASSIGN_OR_RETURN(std::string check, impl_->Wrap(next, kCheckText, kCheckText));
  LOOM_ASSIGN_OR_RETURN(Stmt m, impl_->db.Prepare("UPDATE master SET fingerprint = ?, "
                                                  "check_value = ?, changed_at = ? WHERE id = 1"));
  m.Bind(1, next.Fingerprint()).Bind(2, check).Bind(3, int64_t{impl_->clock->NowMicros()});
  LOOM_RETURN_IF_ERROR(m.Run());
  LOOM_RETURN_IF_ERROR(tx.Commit());
  impl_->master = next;
  return static_cast<int>(rewrapped.size());
}

std::string KeyStore::MasterFingerprint() const {
  std::lock_guard lock(impl_->mu);
  return impl_->master.Fingerprint();
}

}  // namespace loom::security
