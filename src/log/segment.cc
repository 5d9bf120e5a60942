#include "log/segment.h"

#include <algorithm>
#include <cstdio>

namespace loom::log {
namespace {

constexpr size_t kChunkBytes = 1 << 20;

std::string Where(const std::string& path, uint64_t position) {
  return path + ": byte " + std::to_string(position);
}

// Validates a scanned batch fully (continuity and payload); kDataLoss when it is bad.
Status CheckBatch(const BatchHeader& h, std::string_view payload, int64_t expected_offset,
                  const BatchCrypto& crypto, int64_t segment_base, std::string* scratch,
                  std::vector<RecordView>* records) {
  if (h.base_offset != expected_offset) {
    return DataLoss("batch has offset " + std::to_string(h.base_offset) + ", expected " +
                    std::to_string(expected_offset));
  }
  return DecodeRecords(h, payload, crypto, segment_base, scratch, records);
}

// A batch whose bytes are all there (offset and payload CRC right) but that does not decrypt,
// or is encrypted without a key given, or plaintext in an encrypted log: not a torn write, so
// recovery must fail rather than truncate it.
bool IntactButSealedWrong(const BatchHeader& h, std::string_view payload, int64_t expected,
                          const BatchCrypto& crypto) {
  return (h.encrypted() || crypto.cipher != nullptr) && h.base_offset == expected &&
         CheckPayloadChecksum(h, payload).ok();
}

}  // namespace

std::string SegmentFileName(int64_t base_offset, std::string_view ext) {
  char name[32];
  std::snprintf(name, sizeof(name), "%020lld", static_cast<long long>(base_offset));
  return std::string(name) + std::string(ext);
}

bool ParseSegmentFileName(std::string_view name, int64_t* base_offset, std::string* ext) {
  if (name.size() < 21 || name[20] != '.') return false;
  int64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) return false;
    v = v * 10 + (name[i] - '0');
  }
  *base_offset = v;
  *ext = std::string(name.substr(20));
  return true;
}

BatchStream::BatchStream(const RandomAccessFile* file, uint64_t position, uint64_t limit)
    : file_(file), position_(position), limit_(limit) {}

Status BatchStream::Fill(size_t n) {
  if (position_ >= buf_start_ && position_ + n <= buf_start_ + buf_len_) return Status::Ok();
  size_t want =
      static_cast<size_t>(std::min<uint64_t>(std::max(n, kChunkBytes), limit_ - position_));
  if (buf_.size() < want) buf_.resize(want);
  LOOM_ASSIGN_OR_RETURN(size_t got, file_->Read(position_, want, buf_.data()));
  buf_start_ = position_;
  buf_len_ = got;
  if (got < n) return DataLoss(Where(file_->path(), position_ + got) + ": file ends early");
  return Status::Ok();
}

Result<bool> BatchStream::Next(BatchHeader* h, std::string_view* payload) {
  if (position_ >= limit_) return false;
  if (limit_ - position_ < kBatchHeaderSize) {
    return DataLoss(Where(file_->path(), position_) + ": incomplete batch header");
  }
  LOOM_RETURN_IF_ERROR(Fill(kBatchHeaderSize));
  Status st = DecodeHeader(buf_.data() + (position_ - buf_start_), h);
  if (!st.ok()) return st.WithPrefix(Where(file_->path(), position_));
  if (h->batch_length > limit_ - position_) {
    return DataLoss(Where(file_->path(), position_) + ": incomplete batch (" +
                    std::to_string(h->batch_length) + " bytes, " +
                    std::to_string(limit_ - position_) + " left)");
  }
  LOOM_RETURN_IF_ERROR(Fill(h->batch_length));
  *payload =
      std::string_view(buf_.data() + (position_ - buf_start_) + kBatchHeaderSize, h->payload_size);
  position_ += h->batch_length;
  return true;
}

Result<std::unique_ptr<Segment>> LoadClosedSegment(FileSystem& fs, const std::string& dir,
                                                   int64_t base_offset, int64_t next_base,
                                                   uint32_t index_interval,
                                                   const BatchCrypto& crypto) {
  auto s = std::make_unique<Segment>();
  s->base_offset = base_offset;
  s->log_path = JoinPath(dir, SegmentFileName(base_offset, ".log"));
  s->index_path = JoinPath(dir, SegmentFileName(base_offset, ".index"));
  LOOM_ASSIGN_OR_RETURN(s->file, fs.NewRandomAccessFile(s->log_path));
  LOOM_ASSIGN_OR_RETURN(s->size, s->file->Size());
  if (fs.FileExists(s->index_path)) {
    LOOM_ASSIGN_OR_RETURN(std::string data, ReadFileToString(fs, s->index_path));
    Result<ParsedIndex> idx = ParseIndex(data);
    if (idx.ok() && idx->sealed && idx->base_offset == base_offset &&
        idx->seal.segment_size == s->size && idx->seal.next_offset == next_base) {
      s->next_offset = idx->seal.next_offset;
      s->min_timestamp = idx->seal.min_timestamp;
      s->max_timestamp = idx->seal.max_timestamp;
      s->entries = std::move(idx->entries);
      return s;
    }
  }
  // Missing, unsealed, stale or corrupt: rebuild from the data.
  IndexBuilder builder(index_interval);
  BatchStream stream(s->file.get(), 0, s->size);
  int64_t next = base_offset;
  std::string scratch;
  std::vector<RecordView> records;
  bool clean = true;
  while (true) {
    uint64_t pos = stream.position();
    BatchHeader h;
    std::string_view payload;
    Result<bool> more = stream.Next(&h, &payload);
    if (!more.ok() && more.status().code() != StatusCode::kDataLoss) return more.status();
    if (more.ok() && !*more) break;
    if (!more.ok() || !CheckBatch(h, payload, next, crypto, base_offset, &scratch, &records).ok()) {
      clean = false;  // reported as kDataLoss when read; a closed segment is never truncated
      break;
    }
    IndexEntry e;
    if (builder.OnBatch(pos, h.base_offset, h.min_timestamp, h.max_timestamp, &e)) {
      s->entries.push_back(e);
    }
    next += h.record_count;
  }
  s->min_timestamp = builder.min_timestamp();
  s->max_timestamp = builder.max_timestamp();
  s->next_offset = next_base;
  if (clean && next == next_base) LOOM_RETURN_IF_ERROR(SealSegmentIndex(fs, *s));
  if (!clean) {
    // The bounds cover only the readable part; keep the segment in every time range so a read
    // meets the corruption and reports it.
    s->min_timestamp = std::numeric_limits<int64_t>::min();
    s->max_timestamp = std::numeric_limits<int64_t>::max();
  }
  return s;
}

Result<std::unique_ptr<Segment>> RecoverActiveSegment(FileSystem& fs, const std::string& dir,
                                                      int64_t base_offset, uint32_t index_interval,
                                                      const BatchCrypto& crypto) {
  auto s = std::make_unique<Segment>();
  s->base_offset = base_offset;
  s->log_path = JoinPath(dir, SegmentFileName(base_offset, ".log"));
  s->index_path = JoinPath(dir, SegmentFileName(base_offset, ".index"));
  LOOM_ASSIGN_OR_RETURN(s->file, fs.NewRandomAccessFile(s->log_path));
  LOOM_ASSIGN_OR_RETURN(uint64_t file_size, s->file->Size());

  std::vector<IndexEntry> entries;
  if (fs.FileExists(s->index_path)) {
    LOOM_ASSIGN_OR_RETURN(std::string data, ReadFileToString(fs, s->index_path));
    Result<ParsedIndex> idx = ParseIndex(data);
    if (idx.ok() && idx->base_offset == base_offset) entries = std::move(idx->entries);
  }
  // Trust the last entry whose batch header is there and says the same offset.
  while (!entries.empty()) {
    const IndexEntry& e = entries.back();
    BatchStream probe(s->file.get(), e.position, file_size);
    BatchHeader h;
    std::string_view payload;
    Result<bool> more = probe.Next(&h, &payload);
    if (more.ok() && *more && h.base_offset == e.offset) break;
    entries.pop_back();
  }
  IndexBuilder builder(index_interval);
  uint64_t start = 0;
  int64_t next = base_offset;
  if (!entries.empty()) {
    builder.ResumeAt(entries.back());
    start = entries.back().position;
    next = entries.back().offset;
  }
  BatchStream stream(s->file.get(), start, file_size);
  std::string scratch;
  std::vector<RecordView> records;
  uint64_t valid = start;  // bytes past it are a torn or corrupt, never acknowledged, tail
  while (true) {
    uint64_t pos = stream.position();
    BatchHeader h;
    std::string_view payload;
    Result<bool> more = stream.Next(&h, &payload);
    if (!more.ok() && more.status().code() != StatusCode::kDataLoss) return more.status();
    if (!more.ok() || !*more) break;
    Status st = CheckBatch(h, payload, next, crypto, base_offset, &scratch, &records);
    if (!st.ok()) {
      // Never truncate acknowledged bytes because of a key problem: fail closed instead.
      if (IntactButSealedWrong(h, payload, next, crypto)) {
        return st.WithPrefix(s->log_path + ": byte " + std::to_string(pos) +
                             " (nothing was truncated)");
      }
      break;
    }
    IndexEntry e;
    if (builder.OnBatch(pos, h.base_offset, h.min_timestamp, h.max_timestamp, &e)) {
      entries.push_back(e);
    }
    next += h.record_count;
    valid = stream.position();
  }
  if (valid < file_size) {
    LOOM_RETURN_IF_ERROR(fs.Truncate(s->log_path, valid));
    LOOM_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> w,
                          fs.NewWritableFile(s->log_path, OpenMode::kAppend));
    LOOM_RETURN_IF_ERROR(w->Sync());
    LOOM_RETURN_IF_ERROR(w->Close());
  }
  s->size = valid;
  s->next_offset = next;
  s->min_timestamp = builder.min_timestamp();
  s->max_timestamp = builder.max_timestamp();
  s->entries = std::move(entries);
  std::string index = EncodeUnsealedHeader(base_offset);
  for (const IndexEntry& e : s->entries) AppendIndexEntry(base_offset, e, &index);
  LOOM_RETURN_IF_ERROR(WriteFileAtomically(fs, s->index_path, index));
  return s;
}

Status SealSegmentIndex(FileSystem& fs, const Segment& s) {
  SealInfo seal{s.size, s.next_offset, s.min_timestamp, s.max_timestamp};
  return WriteFileAtomically(fs, s.index_path, EncodeSealedIndex(s.base_offset, seal, s.entries));
}

}  // namespace loom::log
