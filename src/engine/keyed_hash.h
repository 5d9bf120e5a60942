#pragma once

// engine/-internal: AES-128-CMAC (NIST SP 800-38B, RFC 4493), the keyed pseudorandom function
// behind loom_keyed_hash (mask_functions.h), computed for many messages at once.
//
// A message of up to 16 bytes costs one AES block encryption; the blocks of all messages of a
// batch go through OpenSSL's AES-128-ECB in one call (AES-NI or the platform's equivalent,
// pipelined over the blocks), so a short value costs a few nanoseconds. Longer messages chain
// their blocks batch-wise too; past kChainedBlocks blocks a message's prefix goes through
// AES-128-CBC in one call (CMAC is the last CBC block, with the last message block tweaked).
// Every tag is 16 bytes, the full CMAC output, never truncated.
//
// Speck64: the Speck64/128 block cipher (Beaulieu et al., "The SIMON and SPECK Families of
// Lightweight Block Ciphers", 2013; 27 rounds of add-rotate-xor on two 32-bit words, a 128-bit
// key), the keyed permutation of 64-bit integers behind loom_keyed_permute. A permutation: distinct
// inputs always give distinct outputs, so grouping and joining on the output is exact.
//
// Speck32: Speck32's round function (Beaulieu et al. 2013: 22 rounds of add-rotate-xor on two
// 16-bit words, rotations 7 and 2) under 22 independent round keys derived from a 128-bit key,
// the keyed permutation of 32-bit integers behind loom_keyed_permute32 and of the integers of
// int32 range in loom_keyed_permute. Independent round keys: the standard Speck32/64 key
// schedule would make the key 64 bits, within reach of an exhaustive search; derived by
// HMAC-SHA-256 from the 128-bit key, finding them means finding that key.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

namespace loom::engine {

// Not thread-safe: one per caller (the SQL function makes one per chunk of rows).
class CmacBatch {
 public:
  static constexpr size_t kCapacity = 256;
  // Messages of more blocks than this absorb all but their last block through CBC.
  static constexpr size_t kChainedBlocks = 4;

  CmacBatch();
  ~CmacBatch();
  CmacBatch(const CmacBatch&) = delete;
  CmacBatch& operator=(const CmacBatch&) = delete;

  // Keys the batch (and derives CMAC's subkeys). False if OpenSSL fails.
  [[nodiscard]] bool SetKey(const std::array<uint8_t, 16>& key);

  // Queues message size() with `size` bytes at `data`, which must stay valid until Finish.
  // At most kCapacity messages between Clear calls.
  void Add(const uint8_t* data, size_t size) {
    general_[general_count_++] = static_cast<uint16_t>(count_);
    messages_[count_++] = {data, size};
  }
  // Queues a message of `size` <= 16 bytes given already padded the CMAC way: 16 bytes that are
  // the message, then (if shorter) 0x80 and zeros, as two words whose bytes are in memory order
  // (bytes 0-7 in `low`). Its input block is ready at once, and taking words rather than bytes
  // spares the caller a store and reload that the processor cannot forward.
  void AddPadded(uint64_t low, uint64_t high, size_t size) {
    const uint64_t* k = size == 16 ? k1_words_ : k2_words_;
    low ^= k[0];
    high ^= k[1];
    std::memcpy(first_[count_], &low, 8);
    std::memcpy(first_[count_] + 8, &high, 8);
    messages_[count_++] = {nullptr, size};
  }
  size_t size() const { return count_; }
  bool full() const { return count_ == kCapacity; }

  // Computes the tags of the queued messages under the key. False if OpenSSL fails.
  [[nodiscard]] bool Finish();
  // The 16-byte tag of message i, after Finish.
  const uint8_t* tag(size_t i) const { return first_[i]; }
  void Clear() { count_ = general_count_ = 0; }

 private:
  struct Message {
    const uint8_t* data;  // null for AddPadded
    size_t size;
  };
  struct Ciphers;

  // The CMAC input block at byte `offset` of `m`, XORed into `chain` (the last block gets CMAC's
  // padding and subkey).
  void NextBlock(const Message& m, size_t offset, const uint8_t* chain, uint8_t* out) const;
  [[nodiscard]] bool Encrypt(uint8_t* blocks, size_t count);
  [[nodiscard]] bool CbcPrefix(const Message& m, size_t blocks, uint8_t* chain);

  std::unique_ptr<Ciphers> ciphers_;
  uint8_t k1_[16] = {};
  uint8_t k2_[16] = {};
  uint64_t k1_words_[2] = {};  // the same, as words in memory order
  uint64_t k2_words_[2] = {};
  size_t count_ = 0;
  Message messages_[kCapacity];
  // Message i's first CMAC input block; after Finish, its tag.
  uint8_t first_[kCapacity][16];
  // The messages queued with Add, in order.
  size_t general_count_ = 0;
  uint16_t general_[kCapacity];
  // Work of Finish: the later blocks in flight, whose message each is and at which offset.
  uint8_t blocks_[kCapacity][16];
  uint16_t active_[kCapacity];
  size_t offsets_[kCapacity];
};

// Thread-safe once made (const). The key schedule is made at construction.
class Speck64 {
 public:
  static constexpr int kRounds = 27;

  // The 128-bit key as two words, the key words (l2, l1) and (l0, k0) as the paper writes them:
  // its key 1b1a1918 13121110 0b0a0908 03020100 is (0x1b1a191813121110, 0x0b0a090803020100).
  Speck64(uint64_t key_high, uint64_t key_low);
  ~Speck64();
  Speck64(const Speck64&) = delete;
  Speck64& operator=(const Speck64&) = delete;

  // Encrypts `count` blocks: block v is the word pair (x, y) = (v >> 32, v & 0xffffffff), and
  // so is its ciphertext. `in` and `out` may be the same array.
  void Encrypt(const uint64_t* in, uint64_t* out, size_t count) const;

 private:
  uint32_t round_keys_[kRounds];
};

// Thread-safe once made (const).
class Speck32 {
 public:
  static constexpr int kRounds = 22;
  using RoundKeys = std::array<uint16_t, kRounds>;

  explicit Speck32(const RoundKeys& round_keys) : round_keys_(round_keys) {}
  ~Speck32();
  Speck32(const Speck32&) = delete;
  Speck32& operator=(const Speck32&) = delete;

  // The round keys of the 128-bit key (key_high, key_low): round key i is bytes 2i and 2i + 1
  // (big-endian) of HMAC-SHA-256(key, "loom-speck32-1") || HMAC-SHA-256(key, "loom-speck32-2"),
  // the key being its 16 bytes big-endian (key_high first).
  static RoundKeys DeriveRoundKeys(uint64_t key_high, uint64_t key_low);

  // Encrypts `count` blocks: block v is the word pair (x, y) = (v >> 16, v & 0xffff), and so is
  // its ciphertext. `in` and `out` may be the same array.
  void Encrypt(const uint32_t* in, uint32_t* out, size_t count) const;

 private:
  RoundKeys round_keys_;
};

}  // namespace loom::engine
