/** Words a minute for the reading-time estimate (a common figure for non-fiction on screens). */
export const WORDS_PER_MINUTE = 230;

/**
 * Minutes to read a guide's Markdown, at least 1: its words, not counting link targets, image
 * sources, HTML tags or Markdown punctuation (`##`, `**`, `-`, table rules).
 */
export function readingMinutes(markdown: string): number {
  const text = markdown
    .replace(/```[\s\S]*?```/g, (block) => block.replace(/```\w*/g, ' '))
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]*>/g, ' ')
    .replace(/https?:\/\/\S+/g, ' ');
  const words = text.match(/[\p{L}\p{N}][\p{L}\p{N}'’.\-]*/gu) ?? [];
  return Math.max(1, Math.round(words.length / WORDS_PER_MINUTE));
}
