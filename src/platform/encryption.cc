// Encryption at rest: the key store and its master key, which ports seal their data (products
// classified confidential or restricted), and the master key's creation and rotation
// (docs/security.md, "Encryption at rest"; formats: docs/internals/security.md).

#include "platform/platform.h"

namespace loom::platform {
namespace {

using nlohmann::json;

constexpr std::string_view kKeysRotate = "keys-rotate";

}  // namespace

Result<security::KeyStore*> Platform::Keys() {
  std::lock_guard<std::mutex> lock(keys_mu_);
  if (keys_ != nullptr) return keys_.get();
  const std::string& file = options_.master_key_file;
  const std::string store = JoinPath(options_.data_dir, "keys.db");
  std::string source =
      file.empty() ? "the master key in LOOM_MASTER_KEY" : "the master key in '" + file + "'";
  Result<security::MasterKey> master = security::MasterKey::Load(file);
  if (!master.ok() && master.status().code() == StatusCode::kFailedPrecondition) {
    // No key given. A development key in the data folder serves a folder that never had
    // another; a key store made with a real key stays closed without it.
    const std::string dev = JoinPath(options_.data_dir, "master.key");
    FileSystem& fs = *FileSystem::Default();
    if (!fs.FileExists(dev) && fs.FileExists(store)) {
      return FailedPrecondition(
          "no master key given (--master-key-file FILE, or LOOM_MASTER_KEY): the key store '" +
          store + "' was created with one, and encrypted data stays closed without it");
    }
    source = "the development master key in '" + dev + "'";
    master = security::MasterKey::FromFile(dev);
    if (!master.ok() && master.status().code() == StatusCode::kNotFound) {
      master = security::MasterKey::CreateFile(dev);
      // Another process made it first: use theirs.
      if (!master.ok() && master.status().code() == StatusCode::kAlreadyExists) {
        master = security::MasterKey::FromFile(dev);
      }
    }
  }
  if (!master.ok()) return master.status();
  security::KeyStoreOptions ko;
  ko.path = store;
  ko.clock = options_.clock;
  Result<std::unique_ptr<security::KeyStore>> opened =
      security::KeyStore::Open(ko, *std::move(master));
  if (!opened.ok()) return opened.status().WithPrefix(source);
  keys_ = *std::move(opened);
  return keys_.get();
}

Result<security::Cipher> Platform::CipherFor(const Address& product) {
  LOOM_ASSIGN_OR_RETURN(security::KeyStore * keys, Keys());
  return keys->CipherFor(Address{product.domain, product.product, "", {}});
}

Result<std::unique_ptr<security::Cipher>> Platform::PortCipher(const spec::DataProduct& product) {
  if (!security::RequiresEncryption(product.classification)) {
    return std::unique_ptr<security::Cipher>();
  }
  Result<security::Cipher> c = CipherFor(product.address());
  if (!c.ok()) {
    return c.status().WithPrefix("product " + product.address().ToString() + " is " +
                                 std::string(spec::ToString(product.classification)) +
                                 " and encrypted at rest");
  }
  return std::make_unique<security::Cipher>(*std::move(c));
}

Result<json> Platform::GenerateMasterKey(const std::string& path) {
  if (path.empty()) return InvalidArgument("a master key file path is required (--out FILE)");
  LOOM_ASSIGN_OR_RETURN(security::MasterKey key, security::MasterKey::CreateFile(path));
  return json{{"path", path}, {"fingerprint", key.Fingerprint()}};
}

Result<json> Platform::RotateMasterKey(const Caller& caller, const std::string& new_key_file) {
  // The master key opens every product's data: the platform's administrator only (the local
  // administrator, or a member of group:loom-admins with a full-scope credential).
  if (!caller.identity.administrator) {
    LOOM_RETURN_IF_ERROR(AuditRecord({caller.principal(), std::string(kKeysRotate), "", false, -1,
                                      "", "not the platform administrator"}));
    return PermissionDenied(caller.principal() +
                            " may not rotate the master key (the platform administrator only)");
  }
  Result<security::MasterKey> next = security::MasterKey::FromFile(new_key_file);
  if (!next.ok()) return next.status().WithPrefix("new master key");
  LOOM_ASSIGN_OR_RETURN(security::KeyStore * keys, Keys());
  const std::string old_fingerprint = keys->MasterFingerprint();
  if (next->Fingerprint() == old_fingerprint) {
    return InvalidArgument("new master key '" + new_key_file + "' is the key in use (fingerprint " +
                           old_fingerprint + ")");
  }
  LOOM_ASSIGN_OR_RETURN(int rewrapped, keys->Rotate(*next));
  const std::string fingerprint = keys->MasterFingerprint();
  LOOM_RETURN_IF_ERROR(
      AuditRecord({caller.principal(), std::string(kKeysRotate), "", true, rewrapped, "",
                   "master key " + old_fingerprint + " -> " + fingerprint}));
  json out = {{"rewrapped", rewrapped},
              {"fingerprint", fingerprint},
              {"previousFingerprint", old_fingerprint}};
  // Rotating away from the development key: it opens nothing any more, and left in the data
  // folder it would be taken for the key of a later run that is given none.
  const std::string dev = JoinPath(options_.data_dir, "master.key");
  Result<security::MasterKey> dev_key = security::MasterKey::FromFile(dev);
  if (dev_key.ok() && dev_key->Fingerprint() == old_fingerprint) {
    LOOM_RETURN_IF_ERROR(FileSystem::Default()->DeleteFile(dev));
    out["removedDevelopmentKey"] = dev;
  }
  return out;
}

}  // namespace loom::platform
