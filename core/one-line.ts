// One line of terminal output from any text, for errors and reports alike.

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/gu;

/** Makes text safe for one line of terminal output: line breaks become spaces, controls escapes. */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/gu, ' ').replace(CONTROL, (char) => {
    const code = char.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
