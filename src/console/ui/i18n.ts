/**
 * English first; where the API or the config already carries a name in the reader's language
 * (region and zone names have `zh-CN`), that name is shown.
 */
const language = navigator.language.toLowerCase().startsWith('zh')
  ? 'zh-CN'
  : navigator.language.toLowerCase().startsWith('ja')
    ? 'ja'
    : 'en-US';

export function localName(names: Record<string, string> | undefined): string {
  if (!names) return '';
  return names[language] ?? names['en-US'] ?? Object.values(names)[0] ?? '';
}
