#pragma once

// Record batches: the unit of the .log files. The byte format is specified in
// docs/internals/log-format.md ("Record batch"); this file implements it.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/block_cipher.h"
#include "core/status.h"
#include "log/log.h"

namespace loom::log {

inline constexpr size_t kBatchHeaderSize = 56;
inline constexpr uint32_t kBatchMagic = 0x31424D4C;  // "LMB1"
inline constexpr uint8_t kBatchVersion = 1;
inline constexpr uint32_t kMaxPayloadBytes = 64u << 20;
// An append whose raw payload would pass this is split into several batches.
inline constexpr size_t kSplitBatchBytes = 32u << 20;
inline constexpr size_t kRecordHeaderSize = 16;
// Header byte 50 ("flags"): bit 0 = the payload is sealed with the log's cipher.
inline constexpr uint8_t kBatchEncrypted = 1;

// How the batch payloads of one partition are sealed (docs/internals/log-format.md,
// "Encryption"). The AAD of a batch names the log, the partition, the segment file and the
// batch's base offset, so a batch moved to another file or offset fails to open.
struct BatchCrypto {
  const BlockCipher* cipher = nullptr;  // null: the log is not encrypted
  std::string context;                  // LogOptions::encryption_context
  int32_t partition = 0;

  // "<context>/partition-00000/00000000000000000000.log@<base_offset>"
  std::string Aad(int64_t segment_base, int64_t base_offset) const;
};

struct BatchHeader {
  uint32_t header_crc = 0;
  uint32_t batch_length = 0;
  int64_t base_offset = 0;
  int64_t min_timestamp = 0;
  int64_t max_timestamp = 0;
  uint32_t record_count = 0;
  uint32_t payload_crc = 0;
  uint32_t payload_size = 0;
  uint32_t raw_size = 0;
  uint8_t version = 0;
  uint8_t compression = 0;
  uint8_t flags = 0;  // kBatchEncrypted

  bool encrypted() const { return (flags & kBatchEncrypted) != 0; }
};

// One encoded batch whose base offset is still to be stamped by the writer.
struct EncodedBatch {
  std::string bytes;
  uint32_t count = 0;
  int64_t min_timestamp = 0;
  int64_t max_timestamp = 0;
};

// Encodes records into batches (split past kSplitBatchBytes), compressing each payload with zstd
// when asked. kInvalidArgument for no records or a record over kSplitBatchBytes.
// Thread-safe (uses a thread-local zstd context).
Status EncodeBatches(std::span<const Record> records, Compression compression, int zstd_level,
                     std::vector<EncodedBatch>* out);

// Gives the bytes of a written batch back for a later EncodeBatches to reuse their capacity (a
// process-wide free list of at most 32 buffers of at most 4 MiB; larger or extra ones are freed):
// a fresh half-megabyte buffer per batch is allocated and page-faulted in each time, since the
// writer thread that frees it is not the producer thread that allocated it. Thread-safe.
void RecycleBatchBytes(std::string bytes);

// Sets base_offset in an encoded batch and recomputes its header CRC.
void StampBaseOffset(char* batch, int64_t base_offset);

// Seals the payload of an encoded batch (whose base offset will be `base_offset`, in the segment
// starting at `segment_base`) with crypto.cipher: sets the encrypted flag, payload_size,
// batch_length and payload_crc (over the sealed bytes). StampBaseOffset must follow.
Status SealBatch(const BatchCrypto& crypto, int64_t segment_base, int64_t base_offset,
                 EncodedBatch* batch);

// The payload CRC alone: what tells a torn write from a batch that does not decrypt.
Status CheckPayloadChecksum(const BatchHeader& h, std::string_view payload);

// Parses and checks the 56 header bytes at p (CRC, magic, version, sizes). On error returns
// kDataLoss with a message saying what is wrong (the caller adds file and position).
Status DecodeHeader(const char* p, BatchHeader* h);

// Checks the payload (CRC, decryption, decompression, record layout) of a batch whose header is
// valid, in the segment starting at `segment_base`, and sets *out to its records. `scratch` holds
// decrypted or decompressed bytes; views in *out point into `payload` or `scratch`. kDataLoss on
// any mismatch, a batch that does not decrypt, or a plaintext batch in an encrypted log;
// kFailedPrecondition for an encrypted batch when `crypto` has no cipher. Thread-compatible.
Status DecodeRecords(const BatchHeader& h, std::string_view payload, const BatchCrypto& crypto,
                     int64_t segment_base, std::string* scratch, std::vector<RecordView>* out);

}  // namespace loom::log
