// Ways photos reach the page: the file picker, a drop anywhere on the page, and a paste. Each
// hands the files to `onFiles`; a drop of folders hands their files to `onFolder`
// ([{file, name}], name the path inside the drop), to be classified as a folder.

import { $, filesOf } from './helpers.js';

export function wireInput(onFiles, onFolder) {
  const picker = $('photos');
  picker.addEventListener('change', () => {
    onFiles(picker.files);
    // Choosing the same file again should classify it again.
    picker.value = '';
  });

  // Drops anywhere on the page count: a drop outside the zone would otherwise make the browser
  // open the photo and leave the page.
  let dragDepth = 0;
  const hasFiles = (event) => Array.from(event.dataTransfer?.types ?? []).includes('Files');
  document.addEventListener('dragenter', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    dragDepth++;
    document.body.classList.add('dragging');
  });
  document.addEventListener('dragover', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  });
  document.addEventListener('dragleave', () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) document.body.classList.remove('dragging');
  });
  document.addEventListener('drop', (event) => {
    dragDepth = 0;
    document.body.classList.remove('dragging');
    // A drop on one of the own-dataset zones is training data, already taken care of there.
    if (event.defaultPrevented || !event.dataTransfer?.files?.length) return;
    event.preventDefault();
    // Entries must be taken during the event: the DataTransfer is emptied once it returns.
    const entries = [...(event.dataTransfer.items ?? [])]
      .map((item) => (item.kind === 'file' && item.webkitGetAsEntry ? item.webkitGetAsEntry() : null));
    if (!entries.some((e) => e?.isDirectory)) {
      onFiles(event.dataTransfer.files);
      return;
    }
    Promise.all(entries.filter(Boolean).map((e) => filesOf(e).catch(() => [])))
      .then((lists) => onFolder(lists.flat()));
  });

  document.addEventListener('paste', (event) => {
    const files = Array.from(event.clipboardData?.files ?? []);
    // Text pasted into a field is left alone; only pasted files are photos to classify.
    if (files.length === 0) return;
    event.preventDefault();
    onFiles(files);
  });
}
