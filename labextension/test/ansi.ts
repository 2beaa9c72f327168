// ANSI handling, driven by tests/widgets/test_ansi.py: reads a JSON file (argv[2]) holding
// a list of cases, each a list of chunks fed in order to one AnsiParser, and prints the
// runs of each case as JSON: [[{text, classes}, …], …].
import { readFileSync } from 'node:fs';
import { AnsiParser } from '../src/ansi';

const cases: string[][] = JSON.parse(readFileSync(process.argv[2], 'utf8'));
process.stdout.write(JSON.stringify(cases.map(chunks => {
  const parser = new AnsiParser();
  return chunks.flatMap(chunk => parser.push(chunk));
})));
