#pragma once

// A small mesh on disk for session tests: three relations as zstd Parquet files.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "engine/engine.h"
#include "testing/testing.h"

namespace loom::engine {

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Database::Open();
    ASSERT_TRUE(db.ok());
    auto con = (*db)->Connect();
    ASSERT_TRUE(con.ok());
    events_ = dir_.Sub("events/part-0.parquet");
    tracks_ = dir_.Sub("tracks/part-0.parquet");
    artists_ = dir_.Sub("artists/part-0.parquet");
    testing::WriteFile(dir_.Sub("events/.keep"), "");
    testing::WriteFile(dir_.Sub("tracks/.keep"), "");
    testing::WriteFile(dir_.Sub("artists/.keep"), "");
    auto copy = [&](const std::string& select, const std::string& file) {
      Status s = (*con)->Execute("COPY (" + select + ") TO " + QuoteString(file) +
                                 " (FORMAT parquet, COMPRESSION zstd)");
      ASSERT_TRUE(s.ok()) << s.ToString();
    };
    // Rows with country 'XX' are outside the caller's row filter; their note is secret.
    copy(
        "SELECT * FROM (VALUES "
        "(1, 10, 'SE', 'alice@example.com', '1', TIMESTAMP '2024-05-01 10:00:00'),"
        "(2, 10, 'SE', 'bob@example.com', '1', TIMESTAMP '2024-05-01 11:00:00'),"
        "(1, 11, 'NO', 'alice@example.com', '1', TIMESTAMP '2024-05-02 09:30:00'),"
        "(3, 12, 'XX', 'carol@example.com', 'secret-note', TIMESTAMP '2024-05-03 08:00:00')"
        ") t(user_id, track_id, country, email, note, played_at)",
        events_);
    copy(
        "SELECT * FROM (VALUES (10, 100, 'Song A'), (11, 100, 'Song B'), (12, 101, 'Song C'))"
        " t(track_id, artist_id, title)",
        tracks_);
    copy("SELECT * FROM (VALUES (100, 'The Band'), (101, 'Solo')) t(artist_id, name)", artists_);
  }

  SessionOptions Options() {
    SessionOptions o;
    Relation events{"media_player.play_events.events",
                    {events_},
                    {{"user_id", "INTEGER", ""},
                     {"track_id", "INTEGER", ""},
                     {"country", "VARCHAR", ""},
                     {"email", "VARCHAR", "sha256(email)"},
                     {"note", "VARCHAR", ""},
                     {"played_at", "TIMESTAMP", ""}},
                    "country <> 'XX'"};
    Relation tracks{
        "media_player.catalog.tracks",
        {tracks_},
        {{"track_id", "INTEGER", ""}, {"artist_id", "INTEGER", ""}, {"title", "VARCHAR", ""}},
        ""};
    Relation artists{"artists.catalog.artists",
                     {artists_},
                     {{"artist_id", "INTEGER", ""}, {"name", "VARCHAR", ""}},
                     ""};
    o.relations = {events, tracks, artists};
    o.scratch_dir = dir_.Sub("scratch");
    return o;
  }

  std::unique_ptr<Session> Open(SessionOptions o) {
    auto s = Session::Open(std::move(o));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  Rows Must(Session& s, const std::string& sql) {
    auto r = s.QueryRows(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
    return r.ok() ? std::move(r).value() : Rows{};
  }

  testing::TempDir dir_;
  std::string events_, tracks_, artists_;
};

}  // namespace loom::engine
