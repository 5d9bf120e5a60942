#include "ingest/checkpoints.h"

#include <algorithm>
#include <cstring>

#include "ingest/event_codec.h"

namespace loom::ingest {

Result<std::unique_ptr<Checkpoints>> Checkpoints::Open(FileSystem& fs, const std::string& path,
                                                       log::Log& log, int64_t now,
                                                       int64_t window_micros) {
  auto cp = std::make_unique<Checkpoints>();
  cp->path_ = path;
  cp->window_ = window_micros;
  std::vector<Entry> all;
  if (fs.FileExists(path)) {
    LOOM_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(fs, path));
    size_t n = bytes.size() / sizeof(Entry);
    all.resize(n);
    if (n > 0) std::memcpy(all.data(), bytes.data(), n * sizeof(Entry));
  }
  // Per partition: the newest entry at or before now - window (where the scan starts), and
  // every later one.
  const int64_t horizon = now - window_micros;
  for (int32_t p = 0; p < log.partitions(); ++p) {
    const Entry* start = nullptr;
    for (const Entry& e : all)
      if (e.partition == p && e.time <= horizon) start = &e;
    if (start != nullptr) cp->loaded_.push_back(*start);
    for (const Entry& e : all)
      if (e.partition == p && e.time > horizon) cp->loaded_.push_back(e);
  }
  std::string out(cp->loaded_.size() * sizeof(Entry), '\0');
  if (!out.empty()) std::memcpy(out.data(), cp->loaded_.data(), out.size());
  LOOM_RETURN_IF_ERROR(WriteFileAtomically(fs, path, out));
  LOOM_ASSIGN_OR_RETURN(cp->file_, fs.NewWritableFile(path, OpenMode::kAppend));
  cp->last_ = now;
  return cp;
}

Result<uint64_t> Checkpoints::Rebuild(log::Log& log, int64_t now, DedupIndex* index) {
  simdjson::ondemand::parser parser;
  std::string padded, id, source, buf;
  uint64_t restored = 0;
  const int64_t horizon = now - window_;
  for (int32_t p = 0; p < log.partitions(); ++p) {
    std::vector<Entry> mine;
    for (const Entry& e : loaded_)
      if (e.partition == p) mine.push_back(e);
    LOOM_ASSIGN_OR_RETURN(log::Offset first, log.StartOffset(p));
    LOOM_ASSIGN_OR_RETURN(log::Offset end, log.EndOffset(p));
    int64_t from = first.value;
    if (!mine.empty() && mine.front().time <= horizon)
      from = std::max(from, mine.front().end_offset);
    from = std::min(from, end.value);
    size_t next_ckpt = 0;
    Status bad;
    log::ReadOptions ro;
    auto read = log.Read(p, log::Offset(from), ro, [&](const log::RecordView& r) {
      // The arrival of a record is at most the time of the first checkpoint past it.
      while (next_ckpt < mine.size() && mine[next_ckpt].end_offset <= r.offset.value) ++next_ckpt;
      int64_t arrival = next_ckpt < mine.size() ? mine[next_ckpt].time : now;
      if (!ReadIdAndSource(parser, &padded, r.value, &id, &source)) {
        bad = DataLoss("partition " + std::to_string(p) + " offset " +
                       std::to_string(r.offset.value) + ": not a canonical CloudEvent");
        return false;
      }
      buf.assign(source);
      buf.push_back('\0');
      buf.append(id);
      DedupKey key;
      Hash128(buf, &key.h1, &key.h2);
      index->Restore(key, arrival, now, p, r.offset.value);
      ++restored;
      return true;
    });
    if (!read.ok()) return read.status();
    LOOM_RETURN_IF_ERROR(bad);
  }
  return restored;
}

void Checkpoints::MaybeWrite(log::Log& log, int64_t now, bool force) {
  std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
  if (!force && !lock.owns_lock()) return;
  if (!lock.owns_lock()) lock.lock();
  if (!force && now - last_ < 1000000) return;
  last_ = now;
  std::vector<Entry> batch;
  for (int32_t p = 0; p < log.partitions(); ++p) {
    auto end = log.EndOffset(p);
    if (!end.ok()) return;
    batch.push_back(Entry{now, p, 0, end->value});
  }
  (void)file_->Append(std::span<const char>(reinterpret_cast<const char*>(batch.data()),
                                            batch.size() * sizeof(Entry)));
}

}  // namespace loom::ingest
