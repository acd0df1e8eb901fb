package bfp;

import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.util.Progressable;

/**
 * Hadoop's local file system, counting the calls made to it by kind, and the entries its listings returned: what S3A's statistics count on EMR (each
 * is a request there). Only the outermost call of a thread counts (exists() calling getFileStatus() is one
 * call). The counts are static: in a local[N] job the driver and the executors share them.
 * Used by support.hadoop_fs_calls (tests and make bench-hourly), never by the jobs themselves.
 */
public class CountingLocalFileSystem extends LocalFileSystem {
  private static final Map<String, AtomicLong> CALLS = new ConcurrentHashMap<>();
  private static final ThreadLocal<int[]> DEPTH = ThreadLocal.withInitial(() -> new int[1]);

  public static synchronized Map<String, Long> snapshot() {
    Map<String, Long> copy = new TreeMap<>();
    CALLS.forEach((kind, count) -> copy.put(kind, count.get()));
    return copy;
  }

  public static synchronized void reset() {
    CALLS.clear();
  }

  private interface Call<T> {
    T run() throws IOException;
  }

  private static <T> T counted(String kind, Call<T> call) throws IOException {
    int[] depth = DEPTH.get();
    if (depth[0] == 0) {
      CALLS.computeIfAbsent(kind, k -> new AtomicLong()).incrementAndGet();
    }
    depth[0]++;
    try {
      return call.run();
    } finally {
      depth[0]--;
    }
  }

  @Override
  public FileStatus[] listStatus(Path f) throws IOException {
    FileStatus[] found = counted("list", () -> super.listStatus(f));
    if (DEPTH.get()[0] == 0) {  // what a listing returned: on S3 one request per 1,000 entries
      CALLS.computeIfAbsent("listed_entries", k -> new AtomicLong()).addAndGet(found.length);
    }
    return found;
  }

  @Override
  public boolean exists(Path f) throws IOException {
    return counted("exists", () -> super.exists(f));
  }

  @Override
  public FileStatus getFileStatus(Path f) throws IOException {
    return counted("status", () -> super.getFileStatus(f));
  }

  @Override
  public FSDataInputStream open(Path f, int bufferSize) throws IOException {
    return counted("open", () -> super.open(f, bufferSize));
  }

  @Override
  public FSDataOutputStream create(Path f, FsPermission permission, boolean overwrite, int bufferSize,
      short replication, long blockSize, Progressable progress) throws IOException {
    return counted("create", () -> super.create(f, permission, overwrite, bufferSize, replication, blockSize,
        progress));
  }

  @Override
  public boolean rename(Path src, Path dst) throws IOException {
    return counted("rename", () -> super.rename(src, dst));
  }

  @Override
  public boolean delete(Path f, boolean recursive) throws IOException {
    return counted("delete", () -> super.delete(f, recursive));
  }

  @Override
  public boolean mkdirs(Path f) throws IOException {
    return counted("mkdirs", () -> super.mkdirs(f));
  }
}
