#include "log/batch.h"

#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <vector>

#include "log/crc32c.h"

namespace loom::log {
namespace {

template <typename T>
void Put(char* p, T v) {
  std::memcpy(p, &v, sizeof(T));  // little-endian host assumed (x86-64, aarch64)
}
template <typename T>
T Get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// One zstd context of each kind per thread, freed at thread exit.
struct ZstdContexts {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ZstdContexts() = default;
  ZstdContexts(const ZstdContexts&) = delete;
  ZstdContexts& operator=(const ZstdContexts&) = delete;
  ~ZstdContexts() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
};
ZstdContexts& Zstd() {
  thread_local ZstdContexts contexts;
  return contexts;
}

void WriteHeader(char* p, const BatchHeader& h) {
  Put<uint32_t>(p + 4, h.batch_length);
  Put<int64_t>(p + 8, h.base_offset);
  Put<int64_t>(p + 16, h.min_timestamp);
  Put<int64_t>(p + 24, h.max_timestamp);
  Put<uint32_t>(p + 32, h.record_count);
  Put<uint32_t>(p + 36, h.payload_crc);
  Put<uint32_t>(p + 40, h.payload_size);
  Put<uint32_t>(p + 44, h.raw_size);
  p[48] = static_cast<char>(h.version);
  p[49] = static_cast<char>(h.compression);
  p[50] = static_cast<char>(h.flags);
  p[51] = 0;
  Put<uint32_t>(p + 52, kBatchMagic);
  Put<uint32_t>(p, Crc32c(p + 4, kBatchHeaderSize - 4));
}

// The free list behind RecycleBatchBytes.
constexpr size_t kMaxPooledBuffers = 32;
constexpr size_t kMaxPooledCapacity = 4u << 20;
std::mutex pool_mu;
std::vector<std::string>& Pool() {
  static std::vector<std::string> pool;  // guarded by pool_mu
  return pool;
}

std::string TakeBuffer() {
  std::lock_guard<std::mutex> lock(pool_mu);
  std::vector<std::string>& pool = Pool();
  if (pool.empty()) return std::string();
  std::string b = std::move(pool.back());
  pool.pop_back();
  return b;
}

// Encodes records [begin, end) whose raw payload is raw_size bytes.
Status EncodeOne(std::span<const Record> records, size_t raw_size, Compression compression,
                 int zstd_level, std::string* raw_scratch, EncodedBatch* out) {
  BatchHeader h;
  h.version = kBatchVersion;
  h.record_count = static_cast<uint32_t>(records.size());
  h.raw_size = static_cast<uint32_t>(raw_size);
  h.min_timestamp = records[0].timestamp;
  h.max_timestamp = records[0].timestamp;
  auto write_records = [&](char* p) {
    for (const Record& r : records) {
      h.min_timestamp = std::min(h.min_timestamp, r.timestamp);
      h.max_timestamp = std::max(h.max_timestamp, r.timestamp);
      Put<int64_t>(p, r.timestamp);
      Put<uint32_t>(p + 8, static_cast<uint32_t>(r.key.size()));
      Put<uint32_t>(p + 12, static_cast<uint32_t>(r.value.size()));
      p += kRecordHeaderSize;
      if (!r.key.empty()) std::memcpy(p, r.key.data(), r.key.size());
      p += r.key.size();
      if (!r.value.empty()) std::memcpy(p, r.value.data(), r.value.size());
      p += r.value.size();
    }
  };
  std::string& b = out->bytes;
  if (compression == Compression::kNone) {
    // Appended, not resized then overwritten: no zero-fill of half a megabyte first.
    b.clear();
    b.reserve(kBatchHeaderSize + raw_size);
    b.append(kBatchHeaderSize, '\0');
    char head[kRecordHeaderSize];
    for (const Record& r : records) {
      h.min_timestamp = std::min(h.min_timestamp, r.timestamp);
      h.max_timestamp = std::max(h.max_timestamp, r.timestamp);
      Put<int64_t>(head, r.timestamp);
      Put<uint32_t>(head + 8, static_cast<uint32_t>(r.key.size()));
      Put<uint32_t>(head + 12, static_cast<uint32_t>(r.value.size()));
      b.append(head, kRecordHeaderSize);
      b.append(r.key);
      b.append(r.value);
    }
    h.payload_size = h.raw_size;
  } else {
    raw_scratch->resize(raw_size);
    write_records(raw_scratch->data());
    b.resize(kBatchHeaderSize + ZSTD_compressBound(raw_size));
    size_t n = ZSTD_compressCCtx(Zstd().c, b.data() + kBatchHeaderSize, b.size() - kBatchHeaderSize,
                                 raw_scratch->data(), raw_size, zstd_level);
    if (ZSTD_isError(n)) return Internal(std::string("zstd compress: ") + ZSTD_getErrorName(n));
    b.resize(kBatchHeaderSize + n);
    h.payload_size = static_cast<uint32_t>(n);
    h.compression = 1;
  }
  h.batch_length = static_cast<uint32_t>(kBatchHeaderSize + h.payload_size);
  h.payload_crc = Crc32c(b.data() + kBatchHeaderSize, h.payload_size);
  WriteHeader(b.data(), h);
  out->count = h.record_count;
  out->min_timestamp = h.min_timestamp;
  out->max_timestamp = h.max_timestamp;
  return Status::Ok();
}

}  // namespace

Status EncodeBatches(std::span<const Record> records, Compression compression, int zstd_level,
                     std::vector<EncodedBatch>* out) {
  if (records.empty()) return InvalidArgument("append of no records");
  thread_local std::string raw_scratch;
  size_t begin = 0;
  size_t raw = 0;
  for (size_t i = 0; i <= records.size(); ++i) {
    size_t size = 0;
    if (i < records.size()) {
      size = kRecordHeaderSize + records[i].key.size() + records[i].value.size();
      if (size > kSplitBatchBytes) {
        return InvalidArgument("record " + std::to_string(i) + " of the append has " +
                               std::to_string(size) + " bytes; the limit is " +
                               std::to_string(kSplitBatchBytes));
      }
    }
    if (i == records.size() || raw + size > kSplitBatchBytes) {
      if (i > begin) {
        out->emplace_back();
        out->back().bytes = TakeBuffer();
        LOOM_RETURN_IF_ERROR(EncodeOne(records.subspan(begin, i - begin), raw, compression,
                                       zstd_level, &raw_scratch, &out->back()));
      }
      begin = i;
      raw = 0;
    }
    raw += size;
  }
  return Status::Ok();
}

void RecycleBatchBytes(std::string bytes) {
  if (bytes.capacity() > kMaxPooledCapacity) return;
  std::lock_guard<std::mutex> lock(pool_mu);
  if (Pool().size() < kMaxPooledBuffers) Pool().push_back(std::move(bytes));
}

void StampBaseOffset(char* batch, int64_t base_offset) {
  Put<int64_t>(batch + 8, base_offset);
  Put<uint32_t>(batch, Crc32c(batch + 4, kBatchHeaderSize - 4));
}

Status DecodeHeader(const char* p, BatchHeader* h) {
  h->header_crc = Get<uint32_t>(p);
  if (h->header_crc != Crc32c(p + 4, kBatchHeaderSize - 4)) {
    return DataLoss("batch header checksum mismatch");
  }
  h->batch_length = Get<uint32_t>(p + 4);
  h->base_offset = Get<int64_t>(p + 8);
  h->min_timestamp = Get<int64_t>(p + 16);
  h->max_timestamp = Get<int64_t>(p + 24);
  h->record_count = Get<uint32_t>(p + 32);
  h->payload_crc = Get<uint32_t>(p + 36);
  h->payload_size = Get<uint32_t>(p + 40);
  h->raw_size = Get<uint32_t>(p + 44);
  h->version = static_cast<uint8_t>(p[48]);
  h->compression = static_cast<uint8_t>(p[49]);
  h->flags = static_cast<uint8_t>(p[50]);
  if (Get<uint32_t>(p + 52) != kBatchMagic) return DataLoss("bad batch magic");
  if (h->version != kBatchVersion) {
    return DataLoss("unknown batch version " + std::to_string(h->version));
  }
  if (h->compression > 1) {
    return DataLoss("unknown compression " + std::to_string(h->compression));
  }
  if ((h->flags & ~kBatchEncrypted) != 0 || p[51] != 0) return DataLoss("unknown batch flags");
  if (h->payload_size > kMaxPayloadBytes || h->raw_size > kMaxPayloadBytes ||
      h->batch_length != kBatchHeaderSize + h->payload_size || h->record_count == 0 ||
      h->min_timestamp > h->max_timestamp || h->base_offset < 0 ||
      (h->compression == 0 && !h->encrypted() && h->raw_size != h->payload_size) ||
      (h->compression == 0 && h->encrypted() && h->raw_size > h->payload_size) ||
      uint64_t{h->record_count} * kRecordHeaderSize > h->raw_size) {
    return DataLoss("inconsistent batch header");
  }
  return Status::Ok();
}

Status CheckPayloadChecksum(const BatchHeader& h, std::string_view payload) {
  if (payload.size() != h.payload_size) return DataLoss("batch payload is cut short");
  if (Crc32c(payload) != h.payload_crc) return DataLoss("batch payload checksum mismatch");
  return Status::Ok();
}

std::string BatchCrypto::Aad(int64_t segment_base, int64_t base_offset) const {
  char name[64];
  std::snprintf(name, sizeof(name), "/partition-%05d/%020lld.log@%lld", partition,
                static_cast<long long>(segment_base), static_cast<long long>(base_offset));
  return context + name;
}

Status SealBatch(const BatchCrypto& crypto, int64_t segment_base, int64_t base_offset,
                 EncodedBatch* batch) {
  std::string& b = batch->bytes;
  BatchHeader h;
  LOOM_RETURN_IF_ERROR(DecodeHeader(b.data(), &h));
  LOOM_ASSIGN_OR_RETURN(std::string sealed,
                        crypto.cipher->Seal(std::string_view(b).substr(kBatchHeaderSize),
                                            crypto.Aad(segment_base, base_offset)));
  if (sealed.size() > kMaxPayloadBytes) return InvalidArgument("sealed batch payload too large");
  h.flags |= kBatchEncrypted;
  h.payload_size = static_cast<uint32_t>(sealed.size());
  h.batch_length = static_cast<uint32_t>(kBatchHeaderSize + sealed.size());
  h.payload_crc = Crc32c(sealed.data(), sealed.size());
  b.resize(kBatchHeaderSize);
  b += sealed;
  WriteHeader(b.data(), h);
  return Status::Ok();
}

Status DecodeRecords(const BatchHeader& h, std::string_view payload, const BatchCrypto& crypto,
                     int64_t segment_base, std::string* scratch, std::vector<RecordView>* out) {
  LOOM_RETURN_IF_ERROR(CheckPayloadChecksum(h, payload));
  std::string_view raw = payload;
  std::string plain;
  if (h.encrypted()) {
    if (crypto.cipher == nullptr) {
      return FailedPrecondition("batch is encrypted and the log was opened without its key");
    }
    Result<std::string> opened =
        crypto.cipher->Open(payload, crypto.Aad(segment_base, h.base_offset));
    if (!opened.ok()) {
      return opened.status().WithPrefix("batch at offset " + std::to_string(h.base_offset));
    }
    plain = std::move(*opened);
    if (h.compression == 0) {
      scratch->swap(plain);
      raw = std::string_view(scratch->data(), scratch->size());
      if (raw.size() != h.raw_size) return DataLoss("decrypted batch payload has the wrong size");
    } else {
      raw = plain;
    }
  } else if (crypto.cipher != nullptr) {
    return DataLoss("plaintext batch at offset " + std::to_string(h.base_offset) +
                    " in an encrypted log (altered file?)");
  }
  if (h.compression == 1) {
    if (scratch->size() < h.raw_size) scratch->resize(h.raw_size);
    size_t n = ZSTD_decompressDCtx(Zstd().d, scratch->data(), h.raw_size, raw.data(), raw.size());
    if (ZSTD_isError(n) || n != h.raw_size) return DataLoss("batch payload does not decompress");
    raw = std::string_view(scratch->data(), n);
  }
  out->resize(h.record_count);
  const char* p = raw.data();
  size_t left = raw.size();
  for (uint32_t i = 0; i < h.record_count; ++i) {
    if (left < kRecordHeaderSize) return DataLoss("batch records overrun the payload");
    RecordView& r = (*out)[i];
    r.offset = Offset(h.base_offset + i);
    r.timestamp = Get<int64_t>(p);
    uint64_t k = Get<uint32_t>(p + 8);
    uint64_t v = Get<uint32_t>(p + 12);
    if (k + v > left - kRecordHeaderSize) return DataLoss("batch records overrun the payload");
    if (r.timestamp < h.min_timestamp || r.timestamp > h.max_timestamp) {
      return DataLoss("record timestamp outside the batch bounds");
    }
    r.key = std::string_view(p + kRecordHeaderSize, k);
    r.value = std::string_view(p + kRecordHeaderSize + k, v);
    p += kRecordHeaderSize + k + v;
    left -= kRecordHeaderSize + k + v;
  }
  if (left != 0) return DataLoss("batch payload has bytes past its records");
  return Status::Ok();
}

}  // namespace loom::log
