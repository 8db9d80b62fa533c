import { MongoError } from 'mongodb';

/** E11000: a unique index refused the write. The write protocol reads it as "someone else got there first". */
export function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoError && error.code === 11000;
}
