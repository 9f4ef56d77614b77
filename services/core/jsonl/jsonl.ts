/**
 * JSON Lines files, gzip-compressed when the name ends in .gz: the CLI's exchange format
 * (one record per line in its JSON form, with a `type` field naming the record kind).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { createGunzip, createGzip } from 'node:zlib';
import type { Writable } from 'node:stream';

export async function* readLines(path: string): AsyncGenerator<{ line: string; number: number }> {
  const file = createReadStream(path);
  const input = path.endsWith('.gz') ? file.pipe(createGunzip()) : file;
  let number = 0;
  for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    number++;
    if (line.trim() !== '') yield { line, number };
  }
}

/** A line writer that respects back-pressure; `close` flushes and waits for the file. */
export class LineWriter {
  private readonly file: Writable;
  private readonly out: Writable;

  constructor(path: string) {
    this.file = createWriteStream(path);
    if (path.endsWith('.gz')) {
      const gzip = createGzip();
      gzip.pipe(this.file);
      this.out = gzip;
    } else {
      this.out = this.file;
    }
  }

  async write(line: string): Promise<void> {
    if (!this.out.write(`${line}\n`)) await once(this.out, 'drain');
  }

  async close(): Promise<void> {
    this.out.end();
    await once(this.file, 'close');
  }
}
