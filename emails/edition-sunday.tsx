/** @jsxRuntime automatic */
/** @jsxImportSource react */
import { devPreviewProps } from '../scripts/dev-preview-props.ts';
import { EditionLayout, type EditionEmailProps } from './_components/edition-layout.tsx';

/** The Sunday edition in the preview server, with props from the real content: the upcoming Sunday. */
export const SundayEditionEmail = ({ edition, links, site }: EditionEmailProps) => <EditionLayout edition={edition} links={links} site={site} />;

SundayEditionEmail.PreviewProps = (await devPreviewProps('sunday')) satisfies EditionEmailProps;

export default SundayEditionEmail;
