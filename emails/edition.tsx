/** @jsxRuntime automatic */
/** @jsxImportSource react */
import { devPreviewProps } from '../scripts/dev-preview-props.ts';
import { EditionLayout, type EditionEmailProps } from './_components/edition-layout.tsx';

/**
 * The edition email (both kinds). Production renders EditionLayout directly (src/render/render-edition.ts);
 * this file is the preview server's template, with props from the real content: the upcoming Midweek.
 */
export const EditionEmail = ({ edition, links, site }: EditionEmailProps) => <EditionLayout edition={edition} links={links} site={site} />;

EditionEmail.PreviewProps = (await devPreviewProps('midweek')) satisfies EditionEmailProps;

export default EditionEmail;
