/**
 * Fills the source bucket with real files so that exports have something to pack. By default
 * they are the 40 files of the npm package `font-awesome` 4.7.0, pinned in package.json: one
 * icon font in six formats (SVG, TTF, OTF, EOT, WOFF, WOFF2), CSS, Less and Sass sources and
 * a few text files. Sizes run from 118 bytes to 434 KiB, 1.3 MiB in all.
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

const corpusPackage = 'font-awesome';
const defaultFirstId = 70_000;
const uploadConcurrency = 4;
/** Files above this size go through a multipart upload instead of one PutObject. */
const multipartThresholdBytes = 8 * 1024 * 1024;

const contentTypes: Record<string, string> = {
  '.css': 'text/css',
  '.eot': 'application/vnd.ms-fontobject',
  '.gif': 'image/gif',
  '.htm': 'text/html',
  '.html': 'text/html',
  '.jpeg': 'image/jpeg',
  '.jpg': 'image/jpeg',
  '.js': 'text/javascript',
  '.json': 'application/json',
  '.map': 'application/json',
  '.md': 'text/markdown',
  '.otf': 'font/otf',
  '.pdf': 'application/pdf',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain',
  '.webp': 'image/webp',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.zip': 'application/zip',
};

/** One imported object. */
export interface CorpusFile {
  fileId: number;
  /** The original base name; two files in different folders may share it. */
  name: string;
  /** Size in bytes. */
  size: number;
  key: string;
}

/** Options of `importCorpus`. */
export interface ImportCorpusOptions {
  client: S3Client;
  bucket: string;
  /** Object key of a file id, with `{file_id}` standing for the id. */
  keyTemplate: string;
  /** Folder to import instead of the npm package. It is read recursively, skipping dotfiles. */
  folder?: string;
  /** Id of the first file in path order; 70000 when unset. */
  firstId?: number;
}

/**
 * Uploads every regular file of the corpus with ids counting up from `firstId` in path order.
 * Each object carries its original base name, percent-encoded, in the `filename` metadata
 * entry because S3 metadata must be ASCII.
 */
export async function importCorpus(options: ImportCorpusOptions): Promise<CorpusFile[]> {
  if (!options.keyTemplate.includes('{file_id}')) {
    throw new Error(`Invalid key template "${options.keyTemplate}": it must contain {file_id}`);
  }

  const folder = path.resolve(options.folder ?? packageFolder());
  const paths = await listFiles(folder);
  if (paths.length === 0) throw new Error(`No files to import in ${folder}`);

  const firstId = options.firstId ?? defaultFirstId;
  const files: CorpusFile[] = [];

  for (let start = 0; start < paths.length; start += uploadConcurrency) {
    const batch = paths.slice(start, start + uploadConcurrency);
    const uploads = batch.map((filePath, index) =>
      uploadFile(options, filePath, firstId + start + index),
    );
    files.push(...(await Promise.all(uploads)));
  }

  return files;
}

function packageFolder(): string {
  const manifest = createRequire(import.meta.url).resolve(`${corpusPackage}/package.json`);
  return path.dirname(manifest);
}

/** Lists regular files below `folder` sorted by path, skipping dotfiles, dot-folders and links. */
async function listFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true });
  const files: string[] = [];

  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;

    const entryPath = path.join(folder, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(entryPath)));
    if (entry.isFile()) files.push(entryPath);
  }

  // Plain code-unit order, so that ids do not depend on the machine's locale.
  return files.sort(compareCodeUnits);
}

function compareCodeUnits(a: string, b: string): number {
  if (a < b) return -1;
  if (a > b) return 1;

  return 0;
}

async function uploadFile(
  options: ImportCorpusOptions,
  filePath: string,
  fileId: number,
): Promise<CorpusFile> {
  const name = path.basename(filePath);
  const key = options.keyTemplate.replace('{file_id}', String(fileId));
  const { size } = await stat(filePath);
  const object = {
    Bucket: options.bucket,
    Key: key,
    ContentType: contentTypes[path.extname(name).toLowerCase()] ?? 'application/octet-stream',
    Metadata: { filename: encodeURIComponent(name) },
  };

  if (size > multipartThresholdBytes) {
    const body = createReadStream(filePath);
    await new Upload({ client: options.client, params: { ...object, Body: body } }).done();
  } else {
    await options.client.send(new PutObjectCommand({ ...object, Body: await readFile(filePath) }));
  }

  return { fileId, name, size, key };
}
