#include "log/segment_index.h"

#include <algorithm>
#include <cstring>

#include "log/crc32c.h"

namespace loom::log {
namespace {

template <typename T>
void Put(std::string* out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // little-endian host assumed
  out->append(b, sizeof(T));
}
template <typename T>
T Get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

void PutHeader(std::string* out, int64_t base, bool sealed, const SealInfo& s, uint32_t count) {
  Put<uint32_t>(out, kIndexMagic);
  Put<uint16_t>(out, 1);
  Put<uint16_t>(out, sealed ? 1 : 0);
  Put<int64_t>(out, base);
  Put<uint64_t>(out, sealed ? s.segment_size : 0);
  Put<int64_t>(out, sealed ? s.next_offset : 0);
  Put<int64_t>(out, sealed ? s.min_timestamp : 0);
  Put<int64_t>(out, sealed ? s.max_timestamp : 0);
  Put<uint32_t>(out, sealed ? count : 0);
}

}  // namespace

std::string EncodeSealedIndex(int64_t base_offset, const SealInfo& seal,
                              std::span<const IndexEntry> entries) {
  std::string out;
  out.reserve(kIndexHeaderSize + entries.size() * kIndexEntrySize);
  PutHeader(&out, base_offset, true, seal, static_cast<uint32_t>(entries.size()));
  Put<uint32_t>(&out, 0);  // the CRC, filled below
  for (const IndexEntry& e : entries) AppendIndexEntry(base_offset, e, &out);
  uint32_t crc = Crc32c(out.data(), 52);
  crc = Crc32cExtend(crc, out.data() + kIndexHeaderSize, out.size() - kIndexHeaderSize);
  std::memcpy(out.data() + 52, &crc, 4);
  return out;
}

std::string EncodeUnsealedHeader(int64_t base_offset) {
  std::string out;
  PutHeader(&out, base_offset, false, SealInfo{}, 0);
  Put<uint32_t>(&out, 0);
  return out;
}

void AppendIndexEntry(int64_t base_offset, const IndexEntry& e, std::string* out) {
  size_t start = out->size();
  Put<uint32_t>(out, static_cast<uint32_t>(e.offset - base_offset));
  Put<uint32_t>(out, e.position);
  Put<int64_t>(out, e.min_before);
  Put<int64_t>(out, e.max_before);
  Put<uint32_t>(out, Crc32c(out->data() + start, 24));
  Put<uint32_t>(out, 0);
}

Result<ParsedIndex> ParseIndex(std::string_view data) {
  if (data.size() < kIndexHeaderSize) return DataLoss("index header is cut short");
  const char* p = data.data();
  if (Get<uint32_t>(p) != kIndexMagic || Get<uint16_t>(p + 4) != 1) {
    return DataLoss("bad index magic or version");
  }
  ParsedIndex idx;
  idx.sealed = (Get<uint16_t>(p + 6) & 1) != 0;
  idx.base_offset = Get<int64_t>(p + 8);
  size_t n = (data.size() - kIndexHeaderSize) / kIndexEntrySize;
  if (idx.sealed) {
    idx.seal.segment_size = Get<uint64_t>(p + 16);
    idx.seal.next_offset = Get<int64_t>(p + 24);
    idx.seal.min_timestamp = Get<int64_t>(p + 32);
    idx.seal.max_timestamp = Get<int64_t>(p + 40);
    uint32_t count = Get<uint32_t>(p + 48);
    if (count != n || data.size() != kIndexHeaderSize + n * kIndexEntrySize) {
      return DataLoss("sealed index has the wrong size");
    }
    uint32_t crc = Crc32c(p, 52);
    crc = Crc32cExtend(crc, p + kIndexHeaderSize, data.size() - kIndexHeaderSize);
    if (crc != Get<uint32_t>(p + 52)) return DataLoss("sealed index checksum mismatch");
  }
  idx.entries.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const char* e = p + kIndexHeaderSize + i * kIndexEntrySize;
    if (Get<uint32_t>(e + 24) != Crc32c(e, 24)) {
      if (idx.sealed) return DataLoss("index entry checksum mismatch");
      break;
    }
    IndexEntry entry;
    entry.offset = idx.base_offset + Get<uint32_t>(e);
    entry.position = Get<uint32_t>(e + 4);
    entry.min_before = Get<int64_t>(e + 8);
    entry.max_before = Get<int64_t>(e + 16);
    if (!idx.entries.empty() && (entry.offset <= idx.entries.back().offset ||
                                 entry.position <= idx.entries.back().position)) {
      if (idx.sealed) return DataLoss("index entries are not increasing");
      break;
    }
    idx.entries.push_back(entry);
  }
  return idx;
}

void IndexBuilder::ResumeAt(const IndexEntry& e) {
  last_position_ = e.position;
  min_ = e.min_before;
  max_ = e.max_before;
}

void IndexBuilder::Restore(uint64_t last_position, int64_t min_ts, int64_t max_ts) {
  last_position_ = last_position;
  min_ = min_ts;
  max_ = max_ts;
}

bool IndexBuilder::OnBatch(uint64_t position, int64_t base_offset, int64_t min_ts, int64_t max_ts,
                           IndexEntry* entry) {
  bool due = position > 0 && position - last_position_ >= interval_;
  if (due) {
    *entry = IndexEntry{base_offset, static_cast<uint32_t>(position), min_, max_};
    last_position_ = position;
  }
  min_ = std::min(min_, min_ts);
  max_ = std::max(max_, max_ts);
  return due;
}

}  // namespace loom::log
