// The real psql client against `loom serve`: products are queryable from any PostgreSQL client.

#include <gtest/gtest.h>

#include "e2e/e2e_util.h"

namespace loom::e2e {
namespace {

TEST(PsqlTest, PsqlQueriesProductsThroughLoomServe) {
  testing::TempDir dir;
  ServeProcess server(dir.Sub("data"));
  ASSERT_TRUE(server.ok());
  Loom loom(Mode::kEmbedded, dir.Sub("unused"));
  auto cli = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {testing::LoomBinary(), "--server", server.url(), "--token",
                                     server.token()};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunCommand(argv);
  };
  ASSERT_EQ(cli({"apply", testing::SourceDir() + "/examples/media-streaming"}).exit_code, 0);
  testing::WriteFile(dir.Sub("artists.csv"),
                     "artist_id,name,label_id,country\nart_aaaaaaaa,ABBA,lbl_000001,SE\n"
                     "art_bbbbbbbb,Roxette,lbl_000001,SE\nart_cccccccc,Queen,lbl_000002,GB\n");
  ASSERT_EQ(cli({"publish", "artists/profiles/current", dir.Sub("artists.csv")}).exit_code, 0);

  std::string port = std::to_string(server.pg_port());
  testing::CommandResult r = testing::RunCommand(
      {"env", "PGPASSWORD=" + server.token(), "psql", "-h", "127.0.0.1", "-p", port, "-U",
       "analyst", "-d", "loom", "-A", "-t", "-X", "-c",
       "SELECT country, count(*) FROM artists.profiles.current GROUP BY 1 ORDER BY 1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "GB|1\nSE|2\n");

  // What the closed surface refuses is an ERROR with its SQLSTATE, and psql exits non-zero.
  testing::CommandResult refused =
      testing::RunCommand({"env", "PGPASSWORD=" + server.token(), "psql", "-h", "127.0.0.1", "-p",
                           port, "-U", "analyst", "-d", "loom", "-X", "-v", "VERBOSITY=verbose",
                           "-c", "SELECT * FROM read_csv('/etc/passwd')"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("42501"), std::string::npos) << refused.err;
}

}  // namespace
}  // namespace loom::e2e
