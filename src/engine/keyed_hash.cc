#include "engine/keyed_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstring>

namespace loom::engine {
namespace {

// Fetched once: an implicit fetch (EVP_aes_128_ecb()) would search the provider store at every
// initialisation, that is at every chunk of rows. Shared by all threads (OpenSSL's ciphers are).
const EVP_CIPHER* Cipher(bool cbc) {
  static EVP_CIPHER* const ecb = EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr);
  static EVP_CIPHER* const chain = EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr);
  return cbc ? chain : ecb;
}

void Xor16(const uint8_t* a, const uint8_t* b, uint8_t* out) {
  uint64_t x[2], y[2];
  std::memcpy(x, a, 16);
  std::memcpy(y, b, 16);
  x[0] ^= y[0];
  x[1] ^= y[1];
  std::memcpy(out, x, 16);
}

// CMAC's subkey doubling in GF(2^128) (RFC 4493, 2.3): shift left by one bit, big-endian, and
// reduce by x^128 + x^7 + x^2 + x + 1.
void Double(const uint8_t* in, uint8_t* out) {
  const uint8_t carry = in[0] >> 7;
  for (int i = 0; i < 15; ++i) out[i] = static_cast<uint8_t>((in[i] << 1) | (in[i + 1] >> 7));
  out[15] = static_cast<uint8_t>((in[15] << 1) ^ (carry != 0 ? 0x87 : 0));
}

uint32_t Ror(uint32_t x, int r) { return (x >> r) | (x << (32 - r)); }
uint32_t Rol(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

}  // namespace

// The key schedule of Speck64/128 (alpha 8, beta 3): l[i + 3] = (k[i] + (l[i] >>> 8)) ^ i,
// k[i + 1] = (k[i] <<< 3) ^ l[i + 3].
Speck64::Speck64(uint64_t key_high, uint64_t key_low) {
  uint32_t l[kRounds + 2];
  l[2] = static_cast<uint32_t>(key_high >> 32);
  l[1] = static_cast<uint32_t>(key_high);
  l[0] = static_cast<uint32_t>(key_low >> 32);
  round_keys_[0] = static_cast<uint32_t>(key_low);
  for (int i = 0; i + 1 < kRounds; ++i) {
    l[i + 3] = (round_keys_[i] + Ror(l[i], 8)) ^ static_cast<uint32_t>(i);
    round_keys_[i + 1] = Rol(round_keys_[i], 3) ^ l[i + 3];
  }
  OPENSSL_cleanse(l, sizeof l);
}

Speck64::~Speck64() { OPENSSL_cleanse(round_keys_, sizeof round_keys_); }

namespace {

// Blocks in groups of 4 x N: each word of a pair in a vector of N lanes, kept in registers
// through all the rounds, the groups independent of each other so that the processor overlaps
// their rounds (one round alone is a chain of dependent instructions). Speck64: 32-bit words,
// 8 lanes; Speck32: 16-bit words, 16 lanes. With AVX2 a vector is one register; otherwise two SSE
// registers. `target_clones` builds the AVX2 version next to the baseline one and picks at load
// time; the shared body is inlined into each.
template <typename Word>
struct SpeckShape;
template <>
struct SpeckShape<uint32_t> {  // Speck64: alpha 8, beta 3
  using Block = uint64_t;
  using Lanes = uint32_t __attribute__((vector_size(32)));
  using Wide = uint64_t __attribute__((vector_size(64)));
  static constexpr int kAlpha = 8, kBeta = 3, kRounds = Speck64::kRounds;
};
template <>
struct SpeckShape<uint16_t> {  // Speck32: alpha 7, beta 2
  using Block = uint32_t;
  using Lanes = uint16_t __attribute__((vector_size(32)));
  using Wide = uint32_t __attribute__((vector_size(64)));
  static constexpr int kAlpha = 7, kBeta = 2, kRounds = Speck32::kRounds;
};

template <typename Word>
constexpr size_t kLanes = sizeof(typename SpeckShape<Word>::Lanes) / sizeof(Word);
template <typename Word>
constexpr size_t kStep = kLanes<Word> * 4;

// One Speck round on the blocks of (x, y).
template <typename Word, typename Lanes = typename SpeckShape<Word>::Lanes>
[[gnu::always_inline]] inline void Round(Lanes& x, Lanes& y, Word k) {
  constexpr int kBits = 8 * sizeof(Word);
  constexpr int a = SpeckShape<Word>::kAlpha, b = SpeckShape<Word>::kBeta;
  x = (((x >> a) | (x << (kBits - a))) + y) ^ k;
  y = ((y << b) | (y >> (kBits - b))) ^ x;
}

template <typename Word, typename S = SpeckShape<Word>>
[[gnu::always_inline]] inline void Load(const typename S::Block* in, typename S::Lanes& x,
                                        typename S::Lanes& y) {
  typename S::Wide v;
  std::memcpy(&v, in, sizeof v);
  x = __builtin_convertvector(v >> (8 * sizeof(Word)), typename S::Lanes);
  y = __builtin_convertvector(v, typename S::Lanes);
}

template <typename Word, typename S = SpeckShape<Word>>
[[gnu::always_inline]] inline void Store(const typename S::Lanes& x, const typename S::Lanes& y,
                                         typename S::Block* out) {
  using Wide = typename S::Wide;
  const Wide v =
      (__builtin_convertvector(x, Wide) << (8 * sizeof(Word))) | __builtin_convertvector(y, Wide);
  std::memcpy(out, &v, sizeof v);
}

// kStep blocks: four groups, in named variables so that they stay in registers.
template <typename Word, typename S = SpeckShape<Word>>
[[gnu::always_inline]] inline void Groups(const Word* round_keys, const typename S::Block* in,
                                          typename S::Block* out) {
  constexpr size_t n = kLanes<Word>;
  typename S::Lanes x0, y0, x1, y1, x2, y2, x3, y3;
  Load<Word>(in, x0, y0);
  Load<Word>(in + n, x1, y1);
  Load<Word>(in + 2 * n, x2, y2);
  Load<Word>(in + 3 * n, x3, y3);
  for (int r = 0; r < S::kRounds; ++r) {
    const Word k = round_keys[r];
    Round<Word>(x0, y0, k);
    Round<Word>(x1, y1, k);
    Round<Word>(x2, y2, k);
    Round<Word>(x3, y3, k);
  }
  Store<Word>(x0, y0, out);
  Store<Word>(x1, y1, out + n);
  Store<Word>(x2, y2, out + 2 * n);
  Store<Word>(x3, y3, out + 3 * n);
}

__attribute__((target_clones("avx2", "default"))) void Speck64Lanes(const uint32_t* round_keys,
                                                                    const uint64_t* in,
                                                                    uint64_t* out) {
  Groups<uint32_t>(round_keys, in, out);
}

__attribute__((target_clones("avx2", "default"))) void Speck32Lanes(const uint16_t* round_keys,
                                                                    const uint32_t* in,
                                                                    uint32_t* out) {
  Groups<uint16_t>(round_keys, in, out);
}

// All `count` blocks through `lanes`, kStep at a time; the tail through a zero-padded step.
template <typename Word, typename Block = typename SpeckShape<Word>::Block>
void EncryptAll(void (*lanes)(const Word*, const Block*, Block*), const Word* round_keys,
                const Block* in, Block* out, size_t count) {
  constexpr size_t step = kStep<Word>;
  size_t done = 0;
  for (; done + step <= count; done += step) lanes(round_keys, in + done, out + done);
  if (done < count) {
    Block tail[step] = {};
    std::copy(in + done, in + count, tail);
    lanes(round_keys, tail, tail);
    std::copy(tail, tail + (count - done), out + done);
  }
}

}  // namespace

void Speck64::Encrypt(const uint64_t* in, uint64_t* out, size_t count) const {
  EncryptAll<uint32_t>(&Speck64Lanes, round_keys_, in, out, count);
}

void Speck32::Encrypt(const uint32_t* in, uint32_t* out, size_t count) const {
  EncryptAll<uint16_t>(&Speck32Lanes, round_keys_.data(), in, out, count);
}

Speck32::~Speck32() { OPENSSL_cleanse(round_keys_.data(), sizeof round_keys_); }

Speck32::RoundKeys Speck32::DeriveRoundKeys(uint64_t key_high, uint64_t key_low) {
  uint8_t key[16];
  for (int i = 0; i < 8; ++i) {
    key[i] = static_cast<uint8_t>(key_high >> (56 - 8 * i));
    key[8 + i] = static_cast<uint8_t>(key_low >> (56 - 8 * i));
  }
  uint8_t material[64];
  const char* labels[2] = {"loom-speck32-1", "loom-speck32-2"};
  for (int half = 0; half < 2; ++half) {
    unsigned int size = 32;
    HMAC(EVP_sha256(), key, sizeof key, reinterpret_cast<const uint8_t*>(labels[half]),
         std::strlen(labels[half]), material + 32 * half, &size);
  }
  RoundKeys round_keys;
  for (int i = 0; i < kRounds; ++i) {
    round_keys[i] = static_cast<uint16_t>((material[2 * i] << 8) | material[2 * i + 1]);
  }
  OPENSSL_cleanse(key, sizeof key);
  OPENSSL_cleanse(material, sizeof material);
  return round_keys;
}

struct CmacBatch::Ciphers {
  EVP_CIPHER_CTX* ecb = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX* cbc = nullptr;  // made on the first long message
  uint8_t key[16] = {};
  ~Ciphers() {
    EVP_CIPHER_CTX_free(ecb);
    EVP_CIPHER_CTX_free(cbc);
    OPENSSL_cleanse(key, sizeof key);
  }
};

CmacBatch::CmacBatch() : ciphers_(std::make_unique<Ciphers>()) {}

CmacBatch::~CmacBatch() {
  OPENSSL_cleanse(k1_, sizeof k1_);
  OPENSSL_cleanse(k2_, sizeof k2_);
}

bool CmacBatch::SetKey(const std::array<uint8_t, 16>& key) {
  Ciphers& c = *ciphers_;
  std::memcpy(c.key, key.data(), sizeof c.key);
  if (c.ecb == nullptr || Cipher(false) == nullptr ||
      EVP_EncryptInit_ex2(c.ecb, Cipher(false), c.key, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(c.ecb, 0) != 1) {
    return false;
  }
  if (c.cbc != nullptr && EVP_EncryptInit_ex2(c.cbc, Cipher(true), c.key, nullptr, nullptr) != 1) {
    return false;
  }
  uint8_t l[16] = {};
  if (!Encrypt(l, 1)) return false;
  Double(l, k1_);
  Double(k1_, k2_);
  std::memcpy(k1_words_, k1_, 16);
  std::memcpy(k2_words_, k2_, 16);
  OPENSSL_cleanse(l, sizeof l);
  return true;
}

bool CmacBatch::Encrypt(uint8_t* blocks, size_t count) {
  int out = 0;
  const int bytes = static_cast<int>(count * 16);
  return EVP_EncryptUpdate(ciphers_->ecb, blocks, &out, blocks, bytes) == 1 && out == bytes;
}

// The chaining value after the first `blocks` whole blocks of `m`: the last block of their
// AES-128-CBC encryption under a zero IV.
bool CmacBatch::CbcPrefix(const Message& m, size_t blocks, uint8_t* chain) {
  Ciphers& c = *ciphers_;
  const uint8_t zero_iv[16] = {};
  if (c.cbc == nullptr) {
    c.cbc = EVP_CIPHER_CTX_new();
    if (c.cbc == nullptr || Cipher(true) == nullptr ||
        EVP_EncryptInit_ex2(c.cbc, Cipher(true), c.key, zero_iv, nullptr) != 1 ||
        EVP_CIPHER_CTX_set_padding(c.cbc, 0) != 1) {
      return false;
    }
  } else if (EVP_EncryptInit_ex2(c.cbc, nullptr, nullptr, zero_iv, nullptr) != 1) {
    return false;
  }
  uint8_t out[4096];
  size_t done = 0;
  while (done < blocks * 16) {
    const size_t piece = std::min(sizeof out, blocks * 16 - done);
    int written = 0;
    if (EVP_EncryptUpdate(c.cbc, out, &written, m.data + done, static_cast<int>(piece)) != 1 ||
        static_cast<size_t>(written) != piece) {
      return false;
    }
    std::memcpy(chain, out + piece - 16, 16);
    done += piece;
  }
  return true;
}

void CmacBatch::NextBlock(const Message& m, size_t offset, const uint8_t* chain,
                          uint8_t* out) const {
  const size_t rest = m.size - offset;
  uint8_t block[16];
  if (rest > 16) {
    std::memcpy(block, m.data + offset, 16);
  } else if (rest == 16) {  // a whole last block: M_n XOR K1
    std::memcpy(block, m.data + offset, 16);
    Xor16(block, k1_, block);
  } else {  // a partial (or empty) last block: its bytes, 0x80, zeros; XOR K2
    std::memset(block, 0, sizeof block);
    if (rest != 0) std::memcpy(block, m.data + offset, rest);
    block[rest] = 0x80;
    Xor16(block, k2_, block);
  }
  Xor16(block, chain, out);
}

bool CmacBatch::Finish() {
  static constexpr uint8_t kZero[16] = {};
  // The first input block of each message queued with Add (AddPadded made theirs); past
  // kChainedBlocks blocks, CBC absorbs all but the last block first.
  for (size_t g = 0; g < general_count_; ++g) {
    const size_t i = general_[g];
    const Message& m = messages_[i];
    const size_t blocks = m.size == 0 ? 1 : (m.size + 15) / 16;
    size_t offset = 0;
    uint8_t chain[16] = {};
    if (blocks > kChainedBlocks) {
      if (!CbcPrefix(m, blocks - 1, chain)) return false;
      offset = (blocks - 1) * 16;
    }
    NextBlock(m, offset, offset == 0 ? kZero : chain, first_[i]);
    offsets_[g] = offset;
  }
  if (!Encrypt(first_[0], count_)) return false;
  // Messages with blocks left go on, a round per block, each round one call over all of them.
  size_t live = 0;
  for (size_t g = 0; g < general_count_; ++g) {
    const size_t i = general_[g];
    const Message& m = messages_[i];
    if (m.size - offsets_[g] <= 16) continue;
    NextBlock(m, offsets_[g] + 16, first_[i], blocks_[live]);
    active_[live] = static_cast<uint16_t>(i);
    offsets_[live] = offsets_[g] + 16;
    ++live;
  }
  while (live > 0) {
    if (!Encrypt(blocks_[0], live)) return false;
    size_t next = 0;
    for (size_t j = 0; j < live; ++j) {
      const Message& m = messages_[active_[j]];
      if (m.size - offsets_[j] <= 16) {
        std::memcpy(first_[active_[j]], blocks_[j], 16);
        continue;
      }
      uint8_t chain[16];
      std::memcpy(chain, blocks_[j], 16);
      NextBlock(m, offsets_[j] + 16, chain, blocks_[next]);
      active_[next] = active_[j];
      offsets_[next] = offsets_[j] + 16;
      ++next;
    }
    live = next;
  }
  return true;
}

}  // namespace loom::engine
