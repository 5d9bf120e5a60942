#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdlib>

#include <gtest/gtest.h>

#include "security/security.h"
#include "security_test_util.h"
#include "testing/testing.h"

namespace loom::security {
namespace {

Address A(std::string_view text) { return Address::Parse(text).value(); }

// Sets or clears an environment variable for one test and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(MasterKeyTest, LoadsFromHexFileOrEnvironment) {
  MasterKey k = MasterKey::Generate();
  ASSERT_EQ(k.Hex().size(), 64u);
  ASSERT_OK_AND_ASSIGN(MasterKey back, MasterKey::FromHex(" " + k.Hex() + "\n"));
  EXPECT_EQ(back.bytes(), k.bytes());
  loom::testing::TempDir dir;
  loom::testing::WriteFile(dir.Sub("master.key"), k.Hex() + "\n");
  ASSERT_OK_AND_ASSIGN(MasterKey from_file, MasterKey::Load(dir.Sub("master.key")));
  EXPECT_EQ(from_file.Fingerprint(), k.Fingerprint());
  ScopedEnv env("LOOM_MASTER_KEY", k.Hex().c_str());
  ASSERT_OK_AND_ASSIGN(MasterKey from_env, MasterKey::Load());
  EXPECT_EQ(from_env.Fingerprint(), k.Fingerprint());
}

TEST(MasterKeyTest, AMissingKeyIsAClearErrorNeverAPlaintextFallback) {
  ScopedEnv env("LOOM_MASTER_KEY", nullptr);
  Result<MasterKey> k = MasterKey::Load();
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(k.status().message().find("LOOM_MASTER_KEY"), std::string::npos);
  EXPECT_EQ(MasterKey::Load("/nonexistent/master.key").status().code(), StatusCode::kNotFound);
}

TEST(MasterKeyTest, RefusesMalformedKeys) {
  for (std::string bad : {std::string(""), std::string(63, 'a'), std::string(66, 'a'),
                          std::string(64, 'g'), std::string(32, 'a')}) {
    EXPECT_EQ(MasterKey::FromHex(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  ScopedEnv env("LOOM_MASTER_KEY", "not-hex");
  EXPECT_NE(MasterKey::Load().status().message().find("LOOM_MASTER_KEY"), std::string::npos);
}

TEST(CipherTest, RoundTripsAndUsesAFreshNonceEachTime) {
  ASSERT_OK_AND_ASSIGN(Cipher c, Cipher::FromKey(std::string(32, 'k')));
  ASSERT_OK_AND_ASSIGN(std::string a, c.Encrypt("hello", "seg-1:0"));
  ASSERT_OK_AND_ASSIGN(std::string b, c.Encrypt("hello", "seg-1:0"));
  EXPECT_EQ(a.size(), 5 + Cipher::kOverhead);
  EXPECT_NE(a, b);
  ASSERT_OK_AND_ASSIGN(std::string plain, c.Decrypt(a, "seg-1:0"));
  EXPECT_EQ(plain, "hello");
  ASSERT_OK_AND_ASSIGN(std::string empty, c.Encrypt("", ""));
  ASSERT_OK_AND_ASSIGN(plain, c.Decrypt(empty, ""));
  EXPECT_EQ(plain, "");
  EXPECT_EQ(Cipher::FromKey("short").status().code(), StatusCode::kInvalidArgument);
}

TEST(CipherTest, FailsClosedOnWrongKeyContextOrAlteredBytes) {
  ASSERT_OK_AND_ASSIGN(Cipher c, Cipher::FromKey(std::string(32, 'k')));
  ASSERT_OK_AND_ASSIGN(Cipher wrong, Cipher::FromKey(std::string(32, 'w')));
  ASSERT_OK_AND_ASSIGN(std::string ct, c.Encrypt("secret value", "seg-1:4096"));
  auto refused = [](const Result<std::string>& r) {
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
    EXPECT_EQ(r.status().message().find("secret"), std::string::npos);
  };
  refused(wrong.Decrypt(ct, "seg-1:4096"));
  refused(c.Decrypt(ct, "seg-1:8192"));  // moved to another offset
  for (size_t i : {size_t{1}, size_t{13}, ct.size() - 1}) {
    std::string altered = ct;
    altered[i] ^= 1;
    refused(c.Decrypt(altered, "seg-1:4096"));
  }
  refused(c.Decrypt(ct.substr(0, Cipher::kOverhead - 1), "seg-1:4096"));
  std::string v2 = ct;
  v2[0] = 2;
  refused(c.Decrypt(v2, "seg-1:4096"));
}

class KeyStoreTest : public ::testing::Test {
 protected:
  Result<std::unique_ptr<KeyStore>> Open(const MasterKey& key) {
    return KeyStore::Open(KeyStoreOptions{dir_.Sub("keys.db"), Clock::Real()}, key);
  }
  loom::testing::TempDir dir_;
  MasterKey master_ = MasterKey::Generate();
};

TEST_F(KeyStoreTest, ARestrictedValueEncryptedToAFileHoldsNoPlaintext) {
  ASSERT_OK_AND_ASSIGN(auto keys, Open(master_));
  ASSERT_OK_AND_ASSIGN(Cipher c, keys->CipherFor(A("artist-payments/payouts")));
  const std::string value = "IBAN SE45 5000 0000 0583 9825 7466; amount 1234.56";
  std::string file_bytes;
  for (int i = 0; i < 3; ++i) {
    std::string aad = "00000000000000000000.seg:" + std::to_string(file_bytes.size());
    ASSERT_OK_AND_ASSIGN(std::string ct, c.Encrypt(value, aad));
    file_bytes += ct;
  }
  loom::testing::WriteFile(dir_.Sub("00000000000000000000.seg"), file_bytes);
  const std::string on_disk = loom::testing::ReadFile(dir_.Sub("00000000000000000000.seg"));
  for (std::string needle : {"IBAN", "5000", "1234.56", "amount"}) {
    EXPECT_EQ(on_disk.find(needle), std::string::npos) << needle;
  }
  // Nor is the data key stored in the clear.
  keys.reset();
  ASSERT_OK_AND_ASSIGN(keys, Open(master_));
  ASSERT_OK_AND_ASSIGN(Cipher again, keys->CipherFor(A("artist-payments/payouts")));
  const size_t n = value.size() + Cipher::kOverhead;
  ASSERT_OK_AND_ASSIGN(
      std::string second,
      again.Decrypt(on_disk.substr(n, n), "00000000000000000000.seg:" + std::to_string(n)));
  EXPECT_EQ(second, value);
}

TEST_F(KeyStoreTest, EachProductHasItsOwnDataKey) {
  ASSERT_OK_AND_ASSIGN(auto keys, Open(master_));
  ASSERT_OK_AND_ASSIGN(Cipher a, keys->CipherFor(A("artists/profiles/profiles")));
  ASSERT_OK_AND_ASSIGN(Cipher same, keys->CipherFor(A("artists/profiles")));
  ASSERT_OK_AND_ASSIGN(Cipher b, keys->CipherFor(A("artists/other")));
  ASSERT_OK_AND_ASSIGN(std::string ct, a.Encrypt("x", "f:0"));
  EXPECT_TRUE(same.Decrypt(ct, "f:0").ok());  // ports share their product's key
  EXPECT_EQ(b.Decrypt(ct, "f:0").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(keys->CipherFor(A("artists/never"), /*create=*/false).status().code(),
            StatusCode::kNotFound);
}

TEST_F(KeyStoreTest, AWrongMasterKeyFailsClosed) {
  {
    ASSERT_OK_AND_ASSIGN(auto keys, Open(master_));
    ASSERT_TRUE(keys->CipherFor(A("artists/profiles")).ok());
  }
  Result<std::unique_ptr<KeyStore>> wrong = Open(MasterKey::Generate());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(wrong.status().message().find("fingerprint"), std::string::npos);
}

TEST_F(KeyStoreTest, AnAlteredWrappedKeyFailsClosed) {
  {
    ASSERT_OK_AND_ASSIGN(auto keys, Open(master_));
    ASSERT_TRUE(keys->CipherFor(A("artists/profiles")).ok());
    ASSERT_TRUE(keys->CipherFor(A("artists/other")).ok());
  }
  // Swap the wrapped keys of two products: the AAD (the product address) refuses them.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.Sub("keys.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "UPDATE data_keys SET wrapped = (SELECT wrapped FROM data_keys WHERE "
                         "name = 'loom://artists/other') WHERE name = 'loom://artists/profiles'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  ASSERT_OK_AND_ASSIGN(auto keys, Open(master_));
  EXPECT_EQ(keys->CipherFor(A("artists/profiles")).status().code(), StatusCode::kDataLoss);
}

TEST_F(KeyStoreTest, RotationRewrapsKeysWithoutTouchingData) {
  std::string ct;
  std::string mask_before;
  {
    ASSERT_OK_AND_ASSIGN(auto keys, Open(master_));
    ASSERT_OK_AND_ASSIGN(Cipher c, keys->CipherFor(A("artists/profiles")));
    ASSERT_OK_AND_ASSIGN(ct, c.Encrypt("payload", "f:0"));
    ASSERT_OK_AND_ASSIGN(MaskKey mk, keys->GetMaskKey());
    mask_before = mk.hex;
    MasterKey next = MasterKey::Generate();
    ASSERT_OK_AND_ASSIGN(int n, keys->Rotate(next));
    EXPECT_EQ(n, 2);  // the product key and the mask key
    EXPECT_EQ(keys->MasterFingerprint(), next.Fingerprint());
    // The same object keeps working under the new key.
    ASSERT_OK_AND_ASSIGN(Cipher after, keys->CipherFor(A("artists/profiles")));
    ASSERT_OK_AND_ASSIGN(std::string plain, after.Decrypt(ct, "f:0"));
    EXPECT_EQ(plain, "payload");
    master_ = next;
  }
  ASSERT_OK_AND_ASSIGN(auto keys, Open(master_));
  ASSERT_OK_AND_ASSIGN(Cipher c, keys->CipherFor(A("artists/profiles")));
  ASSERT_OK_AND_ASSIGN(std::string plain, c.Decrypt(ct, "f:0"));
  EXPECT_EQ(plain, "payload");
  ASSERT_OK_AND_ASSIGN(MaskKey mk, keys->GetMaskKey());
  EXPECT_EQ(mk.hex, mask_before);  // hashed values stay joinable across rotations
}

TEST_F(KeyStoreTest, TheOldMasterKeyNoLongerOpensARotatedStore) {
  MasterKey old = master_;
  {
    ASSERT_OK_AND_ASSIGN(auto keys, Open(master_));
    ASSERT_TRUE(keys->CipherFor(A("artists/profiles")).ok());
    ASSERT_TRUE(keys->Rotate(MasterKey::Generate()).ok());
  }
  EXPECT_EQ(Open(old).status().code(), StatusCode::kPermissionDenied);
}

TEST_F(KeyStoreTest, AStoreOpenBeforeAnotherProcessRotatedItFailsClosed) {
  // Two handles on one keys.db, as a running server and `loom keys rotate` next to it.
  ASSERT_OK_AND_ASSIGN(auto server, Open(master_));
  ASSERT_TRUE(server->CipherFor(A("artists/profiles")).ok());
  ASSERT_OK_AND_ASSIGN(auto rotator, Open(master_));
  MasterKey next = MasterKey::Generate();
  ASSERT_TRUE(rotator->Rotate(next).ok());
  // The stale handle neither unwraps a key nor wraps a new one under the old master key.
  for (const char* product : {"artists/profiles", "artists/new-one"}) {
    Result<Cipher> c = server->CipherFor(A(product));
    EXPECT_EQ(c.status().code(), StatusCode::kFailedPrecondition) << product;
    EXPECT_NE(c.status().message().find("restart with the new key"), std::string::npos);
  }
  EXPECT_EQ(rotator->CipherFor(A("artists/new-one"), /*create=*/false).status().code(),
            StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(auto reopened, Open(next));
  EXPECT_TRUE(reopened->CipherFor(A("artists/profiles")).ok());
}

TEST(MasterKeyTest, CreateFileWritesAnOwnerOnlyKeyAndNeverOverwrites) {
  loom::testing::TempDir dir;
  const std::string path = dir.Sub("master.key");
  ASSERT_OK_AND_ASSIGN(MasterKey made, MasterKey::CreateFile(path));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(loom::testing::ReadFile(path), made.Hex() + "\n");
  ASSERT_OK_AND_ASSIGN(MasterKey loaded, MasterKey::FromFile(path));
  EXPECT_EQ(loaded.Fingerprint(), made.Fingerprint());
  Result<MasterKey> again = MasterKey::CreateFile(path);
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(loom::testing::ReadFile(path), made.Hex() + "\n");  // untouched
  EXPECT_EQ(MasterKey::CreateFile(dir.Sub("no/such/dir/k")).status().code(), StatusCode::kInternal);
}

TEST(EncryptionPolicyTest, ConfidentialAndRestrictedProductsAreEncrypted) {
  EXPECT_FALSE(RequiresEncryption(spec::Classification::kPublic));
  EXPECT_FALSE(RequiresEncryption(spec::Classification::kInternal));
  EXPECT_TRUE(RequiresEncryption(spec::Classification::kConfidential));
  EXPECT_TRUE(RequiresEncryption(spec::Classification::kRestricted));
}

}  // namespace
}  // namespace loom::security
